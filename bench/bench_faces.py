"""Gender, age and expression read from faces, against the labels of real photos, in one run.

    python bench/bench_faces.py [--images ../shared/media] [--labels bench/data/everyday/people.json]

For every labelled person (hand-checked box): whether refcli read a face (FaceReader on the
person's box), and where the label says a gender, an age band or an expression, whether refcli's
reading agrees (age: child/teenager vs adult/senior, the split "a man" and "a boy" depend on; and
senior vs not). Unread faces are counted apart: they are "unknown", which never matches. Also ms
per person read (1 thread).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from refcli.features.face_traits import FaceReader, FaceTraits
from refcli.io.image import load_image
from refcli.refer.grammar import GROWN

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default=str(ROOT.parent / "shared" / "media"))
    parser.add_argument("--labels", default=str(ROOT / "bench" / "data" / "everyday" / "people.json"))
    args = parser.parse_args()
    labels = {k: v for k, v in json.loads(Path(args.labels).read_text()).items() if not k.startswith("_")}
    reader = FaceReader()
    counts = {"people": 0, "read": 0, "gender": [0, 0, 0], "grown": [0, 0, 0], "senior": [0, 0, 0],
              "smiling": [0, 0, 0]}  # [labelled, read, right]
    seconds = 0.0
    for name, entry in labels.items():
        image = load_image(str(Path(args.images) / name))
        for person in entry["people"]:
            counts["people"] += 1
            started = time.perf_counter()
            traits = FaceTraits.of(reader.read(image, person["box"]))
            seconds += time.perf_counter() - started
            counts["read"] += traits is not None
            checks = {
                "gender": (person["gender"] in ("male", "female"),
                           lambda t, p: t.holds("gender", frozenset({p["gender"]}))),
                "grown": (person["age"] != "unknown",
                          lambda t, p: t.holds("age", GROWN) == (p["age"] in ("adult", "senior"))),
                "senior": (person["age"] != "unknown",
                           lambda t, p: t.holds("age", frozenset({"senior"})) == (p["age"] == "senior")),
                "smiling": (person["expression"] in ("smiling", "neutral"),
                            lambda t, p: t.holds("expression", frozenset({"happy"})) == (p["expression"] == "smiling")),
            }
            for key, (labelled, right) in checks.items():
                if not labelled:
                    continue
                counts[key][0] += 1
                if traits is not None:
                    counts[key][1] += 1
                    counts[key][2] += bool(right(traits, person))
    print(f"{counts['people']} labelled people, a face read on {counts['read']}  ({args.labels})")
    print(f"{'trait':10} {'labelled':>9} {'read':>5} {'right':>6} {'accuracy':>9}")
    for key in ("gender", "grown", "senior", "smiling"):
        labelled, read, right = counts[key]
        print(f"{key:10} {labelled:9} {read:5} {right:6} {right / read if read else 0:9.2f}")
    print(f"\n{1000 * seconds / counts['people']:.1f} ms per person "
          "(face detector, and the two face models where a face is)")


if __name__ == "__main__":
    main()
