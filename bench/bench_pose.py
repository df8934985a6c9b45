"""What body pose and motion cues cost at index time and how well they judge, measured here.

    python bench/bench_pose.py [PATH ...]

1. Index time with `--pose` as a ratio to indexing the same files without it (fresh databases,
   same run), and the added milliseconds per person track and per pose estimated.
2. Per-cue precision and recall (IoU 0.5, counted over boxes) on the pose and motion expressions
   of tests/data/humanref_mini, with the embedded referrer on the benchmark's candidate boxes, and
   DensityF1 on the interaction and reasoning domains.
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
from refcli.pipeline import IndexOptions, run_index  # noqa: E402
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = os.path.join(HERE, "..", "..", "shared", "media", "vtest.avi")
    parser.add_argument("paths", nargs="*", default=[default if os.path.exists(default) else DATA])
    parser.add_argument("--annotations", default=os.path.join(DATA, "humanref_mini", "annotations.jsonl"))
    args = parser.parse_args()
    index_cost(args.paths)
    cue_scores(args.annotations)


if __name__ == "__main__":
    main()
