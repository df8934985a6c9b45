"""Milliseconds per call of each converted model in refcli/weights, one onnxruntime thread, as a
ratio to the embedded person detector (refcli/detect/models/ssdlite_person.onnx) in the same run.

    python bench/bench_weights.py [--calls 20] [--extra /tmp/refcli-unshipped]

Each model gets one real input (tests/data/messi5.jpg; its face for faceres and emotion)
preprocessed as the model expects, batch 1; the time is the median of --calls session.run calls
after 3 warm-up calls. --extra adds models that are converted but not shipped (centernet, see
refcli/weights/PROVENANCE.md) from another folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from refcli.onnx import onnxruntime  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "refcli" / "weights"
SSDLITE = ROOT / "refcli" / "detect" / "models" / "ssdlite_person.onnx"
PHOTO = ROOT / "tests" / "data" / "messi5.jpg"
FACE = (218, 83, 268, 135)  # messi5's face (dlib's box 225,94..261,130, widened as for faceres)


def inputs() -> dict[str, np.ndarray]:
    rgb = Image.open(PHOTO).convert("RGB")
    face = rgb.crop(FACE)

    def resized(im: Image.Image, size: int) -> np.ndarray:
        return np.asarray(im.resize((size, size), Image.BILINEAR), dtype=np.float32)

    gray = resized(face, 64) / 255.0 @ np.array([0.2989, 0.5870, 0.1140], np.float32)
    return {
        "ssdlite_person": np.asarray(rgb.resize((300, 300), Image.BILINEAR), dtype=np.uint8)[None],
        "faceres": resized(face, 224)[None],
        "emotion": ((gray - 0.5) * 2.0)[None, ..., None].astype(np.float32),
        "blazeface": (resized(rgb, 256) / 127.5 - 1.0)[None],
        "centernet": resized(rgb, 512)[None],
        "nanodet": (resized(rgb, 416) / 255.0).transpose(2, 0, 1)[None].copy(),
    }


def median_ms(session, x: np.ndarray, calls: int) -> float:  # type: ignore[no-untyped-def]
    feed = {session.get_inputs()[0].name: x}
    for _ in range(3):
        session.run(None, feed)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--extra", type=Path, action="append", default=[], help="more folders of NAME.onnx")
    args = parser.parse_args()
    ort = onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    feeds = inputs()
    files = [SSDLITE] + sorted(WEIGHTS.glob("*.onnx")) + [p for d in args.extra for p in sorted(d.glob("*.onnx"))]
    print(f"onnxruntime {ort.__version__}, 1 thread, median of {args.calls} calls, batch 1")
    print(f"{'model':16} {'input':22} {'MB':>5} {'ms/call':>8} {'x ssdlite':>9}")
    base = None
    for path in files:
        name = path.stem
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        x = feeds[name]
        ms = median_ms(session, x, args.calls)
        base = base or ms
        shape = "x".join(str(d) for d in x.shape)
        print(f"{name:16} {shape + ' ' + str(x.dtype):22} {path.stat().st_size / 1e6:5.1f} {ms:8.2f} {ms / base:9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
