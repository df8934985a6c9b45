"""Person detectors on labelled real photos: recall, false boxes and cost, measured in one run.

    python bench/bench_detectors.py [--images ../shared/media] [--centernet FILE.onnx]
                                    [--movenet FILE.onnx] [--labels bench/data/everyday/people.json]

For each detector (ssdlite, nanodet, and CenterNet when its ONNX file is given: it is not
shipped, its weights have no licence; refcli/weights/convert/convert.py --unshipped-out makes
it; and MoveNet MultiPose when its ONNX file is given: Apache-2.0, measured only, not shipped;
convert.py --unshipped-out --only movenet-multipose makes it; its boxes are its own per-person
boxes scored by their box score, at most 6 people a photo): at several score floors, how many
of the hand-checked people it finds (a box at IoU >= 0.5, each person and each box matched
once) and how many boxes match nobody (false boxes; boxes on people the labels leave out, such
as far crowds, count as false too, alike for all); then the recall of each at the floor where
it makes as many false boxes as SSDLite at 0.5; and ms per photo (median of 3 passes, 1
thread), with the ratio to SSDLite. The COCO photos may be in the COCO detectors' training
data (COCO train2017 holds most of val2014): recall there is an upper bound.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from refcli.detect import Detector, create_detector
from refcli.detections import Detections, box_iou
from refcli.io.image import load_image

ROOT = Path(__file__).resolve().parent.parent
FLOORS = (0.2, 0.3, 0.4, 0.5, 0.6)


def match(found: list[tuple[list[float], float]], truth: list[list[float]], floor: float) -> tuple[int, int]:
    """(people found, false boxes) at ``floor``: greedy one-to-one matching by score."""
    boxes = sorted((b for b in found if b[1] >= floor), key=lambda b: -b[1])
    taken: set[int] = set()
    hits = 0
    for box, _ in boxes:
        best, best_iou = -1, 0.5
        for j, person in enumerate(truth):
            if j not in taken and (iou := box_iou(box, person)) >= best_iou:
                best, best_iou = j, iou
        if best >= 0:
            taken.add(best)
            hits += 1
    return hits, len(boxes) - hits


class LocalModel(Detector):
    """A person detector from a local ONNX file (one refcli does not ship), for this measurement only."""

    def __init__(self, path: str, min_score: float) -> None:
        from refcli.onnx import onnxruntime

        ort = onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.min_score = min_score


class LocalCenterNet(LocalModel):
    """CenterNet's person class from a local ONNX file, for this measurement only."""

    name = "centernet"

    @property
    def version(self) -> str:
        return "centernet-local"

    def detect(self, images):  # type: ignore[no-untyped-def]
        from PIL import Image

        from refcli.detect.ssdlite import suppress_overlaps

        out = []
        for image in images:
            h, w = image.shape[:2]
            x = np.asarray(Image.fromarray(image).resize((512, 512), Image.Resampling.BILINEAR), np.float32)[None]
            rows = next(o for o in self.session.run(None, {self.session.get_inputs()[0].name: x})
                        if o.shape[-1] == 6)[0]
            rows = rows[(rows[:, 5] == 0) & (rows[:, 4] >= self.min_score)]
            boxes = (rows[:, :4] * np.array([w / 512, h / 512] * 2, np.float32)).astype(np.float32)
            keep = suppress_overlaps(boxes, rows[:, 4], 0.5)
            out.append(Detections(xyxy=boxes[keep], confidence=rows[keep, 4].astype(np.float32)))
        return out


class LocalMoveNet(LocalModel):
    """MoveNet MultiPose's per-person boxes from a local ONNX file, for this measurement only.

    Fed as Human (@vladmandic/human 3.3.6 src/body/movenetfix.ts padInput) feeds it: the photo
    padded with black to a centred square, resized to 256 x 256 (the tfjs signature's size),
    int32 RGB. Output (1, 6, 56): per person 17 x (y, x, score), then ymin, xmin, ymax, xmax,
    score, normalised to the padded square. No overlap suppression (Human applies none either).
    """

    name = "movenet"
    SIZE = 256

    @property
    def version(self) -> str:
        return "movenet-multipose-local"

    def detect(self, images):  # type: ignore[no-untyped-def]
        from PIL import Image

        out = []
        for image in images:
            h, w = image.shape[:2]
            side = max(h, w)
            top, left = (side - h) // 2, (side - w) // 2
            square = np.zeros((side, side, 3), np.uint8)
            square[top : top + h, left : left + w] = image[..., :3]
            resized = Image.fromarray(square).resize((self.SIZE, self.SIZE), Image.Resampling.BILINEAR)
            x = np.asarray(resized, np.int32)[None]
            rows = self.session.run(None, {self.session.get_inputs()[0].name: x})[0][0]
            rows = rows[rows[:, 55] >= self.min_score]
            ymin, xmin, ymax, xmax = (rows[:, 51 + k] * side for k in range(4))
            boxes = np.stack([xmin - left, ymin - top, xmax - left, ymax - top], axis=1)
            boxes = np.clip(boxes, 0, [w, h, w, h]).astype(np.float32)
            out.append(Detections(xyxy=boxes.reshape(-1, 4), confidence=rows[:, 55].astype(np.float32)))
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default=str(ROOT.parent / "shared" / "media"))
    parser.add_argument("--labels", default=str(ROOT / "bench" / "data" / "everyday" / "people.json"))
    parser.add_argument("--detectors", nargs="+", default=["ssdlite", "nanodet"])
    parser.add_argument("--centernet", help="a local centernet.onnx to measure too (not shipped)")
    parser.add_argument("--movenet", help="a local movenet-multipose.onnx to measure too (not shipped)")
    args = parser.parse_args()
    labels = {k: v for k, v in json.loads(Path(args.labels).read_text()).items() if not k.startswith("_")}
    pictures = {name: load_image(str(Path(args.images) / name)) for name in labels}
    truth = {name: [p["box"] for p in entry["people"]] for name, entry in labels.items()}
    people = sum(len(t) for t in truth.values())
    results: dict[str, dict[float, tuple[int, int]]] = {}
    cost: dict[str, float] = {}
    chosen: dict[str, Detector] = {name: create_detector(name, threads=1, min_score=0.1) for name in args.detectors}
    if args.centernet:
        chosen["centernet"] = LocalCenterNet(args.centernet, 0.1)
    if args.movenet:
        chosen["movenet"] = LocalMoveNet(args.movenet, 0.1)
    for name, detector in chosen.items():
        detector.detect([next(iter(pictures.values()))])  # load the model outside the timing
        passes, found = [], {}
        for _ in range(3):
            started = time.perf_counter()
            for image_name, image in pictures.items():
                d = detector.detect([image])[0]
                found[image_name] = [(box.tolist(), float(s)) for box, s in zip(d.xyxy, d.confidence)]
            passes.append((time.perf_counter() - started) / len(pictures))
        cost[name] = statistics.median(passes)
        results[name] = {f: tuple(np.sum([match(found[n], truth[n], f) for n in pictures], axis=0))  # type: ignore[misc]
                         for f in (*FLOORS, *np.round(np.arange(0.1, 0.9, 0.02), 2))}
    print(f"{len(pictures)} photos, {people} hand-checked people ({args.labels})\n")
    print(f"{'detector':10} " + " ".join(f"{'>=' + format(f, 'g'):>12}" for f in FLOORS) + "   (found/false)")
    for name, by_floor in results.items():
        print(f"{name:10} " + " ".join(f"{by_floor[f][0]:>5}/{by_floor[f][1]:<6}" for f in FLOORS))
    base = results.get("ssdlite", {}).get(0.5)
    if base is not None:
        print(f"\nat as many false boxes as ssdlite at 0.5 ({base[1]}):")
        for name, by_floor in results.items():
            floor = min((f for f, (_, false) in by_floor.items() if false <= base[1]), default=None)
            if floor is not None:
                hits = by_floor[floor][0]
                print(f"  {name:10} floor {floor:<5g} recall {hits / people:.2f} ({hits}/{people})")
    print(f"\n{'detector':10} {'ms/photo':>9} {'ratio':>6}   (1 thread, median of 3 passes)")
    for name, seconds in cost.items():
        print(f"{name:10} {1000 * seconds:9.1f} {seconds / cost.get('ssdlite', seconds):6.2f}")


if __name__ == "__main__":
    main()
