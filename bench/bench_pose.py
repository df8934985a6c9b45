"""What body pose and motion cues cost at index time and how well they judge, measured here.

    python bench/bench_pose.py [PATH ...]

1. Index time with `--pose` as a ratio to indexing the same files without it (fresh databases,
   same run), and the added milliseconds per person track and per pose estimated.
2. Per-cue precision and recall (IoU 0.5, counted over boxes) on the pose and motion expressions
   of tests/data/humanref_mini, with the embedded referrer on the benchmark's candidate boxes, and
   DensityF1 on the interaction and reasoning domains.
3. Clothing colours measured on the body regions the pose gives vs fixed fractions of the box:
   DensityF1 of the attribute expressions of the same set.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from refcli.evaluate import box_iou, evaluate, load_annotations, load_predictions  # noqa: E402
from refcli.index import IndexOptions, run_index  # noqa: E402
from refcli.refer.grammar import parse  # noqa: E402
from refcli.store import Store  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "tests", "data")


def index_cost(paths: list[str]) -> None:
    seconds = {}
    for pose in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            store = Store.open(os.path.join(tmp, "db"), create=True)
            start = time.perf_counter()
            with store.writer():
                summary = run_index(paths, store, IndexOptions(pose=pose))
            seconds[pose] = time.perf_counter() - start
            if pose:
                poses = store._table("poses").count_rows()
                people = summary.people
    added = seconds[True] - seconds[False]
    print(f"index without pose {seconds[False]:.2f} s, with --pose {seconds[True]:.2f} s: "
          f"ratio {seconds[True] / seconds[False]:.2f}")
    print(f"  {people} person tracks, {poses} poses estimated: +{1000 * added / max(1, people):.0f} ms per track, "
          f"+{1000 * added / max(1, poses):.1f} ms per pose")


def cue_scores(annotations_path: str) -> None:
    items = load_annotations(annotations_path)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "p.jsonl")
        subprocess.run([sys.executable, "-m", "refcli", "eval", "humanref", "--annotations", annotations_path,
                        "--images", DATA, "--use-candidates", "--out", out, "--json"], check=True,
                       capture_output=True)
        predictions = load_predictions(out)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # tp, predicted, truth
    for item in items:
        cues = {c.name for c in parse(item.referring).cues}
        prediction = predictions[item.id].boxes
        used: set[int] = set()
        tp = 0
        for truth in item.answer_boxes:
            best = max((i for i in range(len(prediction)) if i not in used),
                       key=lambda i: box_iou(truth, prediction[i]), default=None)
            if best is not None and box_iou(truth, prediction[best]) >= 0.5:
                used.add(best)
                tp += 1
        for cue in cues:
            counts[cue][0] += tp
            counts[cue][1] += len(prediction)
            counts[cue][2] += len(item.answer_boxes)
    print(f"{'cue':<14}{'expressions':>12}{'precision':>11}{'recall':>8}")
    for cue, (tp, predicted, truth) in sorted(counts.items()):
        n = sum(1 for item in items if cue in {c.name for c in parse(item.referring).cues})
        precision = tp / predicted if predicted else float("nan")
        recall = tp / truth if truth else float("nan")
        print(f"{cue:<14}{n:>12}{precision:>11.2f}{recall:>8.2f}")
    report = evaluate(items, predictions, name="embedded").to_dict()
    for domain in ("interaction", "reasoning"):
        scores = report["domains"].get(domain)
        if scores:
            print(f"{domain}: DensityF1@0.5 {scores['density_f1_50']:.3f} over {scores['samples']} expressions")
    print(f"rejection: {report['rejection']['correct']} of {report['rejection']['total']}")


def colour_regions(annotations_path: str) -> None:
    import numpy as np

    from refcli.evaluate import Prediction
    from refcli.features.colors import clothing_colours
    from refcli.features.pose import PoseEstimator, body_regions_from_pose
    from refcli.io.image import load_image
    from refcli.refer import ReferRequest, create_referrer

    items = [a for a in load_annotations(annotations_path) if a.domain == "attribute"]
    estimator, referrer = PoseEstimator(), create_referrer("embedded")
    for use_pose in (False, True):
        predictions = {}
        for item in items:
            image = load_image(os.path.join(DATA, item.image_name), apply_exif=False)
            boxes = np.array(item.candidate_boxes, np.float32).reshape(-1, 4)
            features = []
            for box in boxes:
                found = estimator.estimate(image, box) if use_pose else None
                regions = body_regions_from_pose(found, box) if found is not None else None
                features.append({"colours": clothing_colours(image, box, regions)})
            result = referrer.refer([ReferRequest(item.referring, boxes, np.ones(len(boxes), np.float32),
                                                  (image.shape[1], image.shape[0]), features=features)])[0]
            predictions[item.id] = Prediction(item.id, [boxes[i].tolist() for i in result.indexes])
        scores = evaluate(items, predictions, name="colours").to_dict()["domains"]["attribute"]
        print(f"colours on {'pose regions' if use_pose else 'box fractions'}: attribute DensityF1@0.5 "
              f"{scores['density_f1_50']:.3f} ({scores['samples']} expressions)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = os.path.join(HERE, "..", "..", "shared", "media", "vtest.avi")
    parser.add_argument("paths", nargs="*", default=[default if os.path.exists(default) else DATA])
    parser.add_argument("--annotations", default=os.path.join(DATA, "humanref_mini", "annotations.jsonl"))
    args = parser.parse_args()
    index_cost(args.paths)
    cue_scores(args.annotations)
    colour_regions(args.annotations)


if __name__ == "__main__":
    main()
