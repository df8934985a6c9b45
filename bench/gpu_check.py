"""The model path end to end on a GPU, in one short run: `python bench/gpu_check.py [--device cuda]`.

Builds tiny Qwen2.5-VL and RT-DETR models from configs (no download), runs the vlm referrer and
the hf detector on the device in bf16/fp16, checks batching, the out-of-memory halving on a real
allocation failure, and, when $REFCLI_VLM_MODEL names an installed model, one real frame.
Prints what ran where and how long it took.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from refcli.detect import create_detector  # noqa: E402
from refcli.devices import dtype_for, pick_device, run_in_batches  # noqa: E402
from refcli.io.image import load_image  # noqa: E402
from refcli.refer import ReferRequest  # noqa: E402
from refcli.refer.vlm import VLMReferrer  # noqa: E402

DATA = Path(__file__).parent.parent / "tests" / "data"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = pick_device(args.device)
    print(f"device {device} ({torch.cuda.get_device_name(0) if device.startswith('cuda') else 'no GPU'}), "
          f"dtype {dtype_for(device)}, torch {torch.__version__}")
    photo = load_image(str(DATA / "messi5.jpg"))
    frame = load_image(str(DATA / "humanref_mini" / "vtest_2.0.jpg"))
    with tempfile.TemporaryDirectory() as tmp:
        from test_hf_detectors import rt_detr
        from tinyvlm import build_tiny_vlm

        detector = create_detector("hf", model=str(rt_detr(Path(tmp) / "rt")), threshold=0.0, device=device,
                                   batch_size=4)
        start = time.perf_counter()
        results = detector.detect([photo, frame] * 8)
        print(f"hf detector: 16 images in {time.perf_counter() - start:.2f} s, {sum(map(len, results))} boxes")
        referrer = VLMReferrer(model=str(build_tiny_vlm(Path(tmp) / "vlm")), prompt="marks", device=device,
                               batch_size=8, max_new_tokens=16)
        boxes = np.array([[100, 100, 200, 300], [300, 100, 400, 300], [500, 90, 600, 320]], np.float32)
        requests = [ReferRequest("the person on the left", boxes, np.ones(3, np.float32), (768, 576), frame)] * 8
        start = time.perf_counter()
        answers = referrer.refer(requests)
        print(f"vlm (tiny, {referrer._parts[2].dtype}): 8 requests in {time.perf_counter() - start:.2f} s, "
              f"{sum(bool(a.warnings) for a in answers)} unparsable answers (expected from a random model)")
    if device.startswith("cuda"):
        free, total = torch.cuda.mem_get_info()
        sizes: list[int] = []

        def allocate(chunk: list[int]) -> list[int]:  # each item wants a quarter of the free memory
            torch.empty(int(free * 0.25 * len(chunk)), dtype=torch.uint8, device=device)
            return chunk

        run_in_batches(allocate, list(range(16)), 16, on_shrink=sizes.append)
        print(f"out of memory halving: batch 16 -> {sizes} on {total / 2**30:.0f} GiB")
    model = os.environ.get("REFCLI_VLM_MODEL")
    if model:
        real = VLMReferrer(model=model, device=device)
        start = time.perf_counter()
        result = real.refer([ReferRequest("the person in a red top", boxes, np.ones(3, np.float32), (768, 576),
                                          frame)])[0]
        print(f"real model {model}: {time.perf_counter() - start:.1f} s, answer {result}")


if __name__ == "__main__":
    main()
