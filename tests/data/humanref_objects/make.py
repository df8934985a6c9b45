"""Build the people-with-things set (annotations.jsonl): interaction expressions about objects on
the real test pictures, in HumanRef's format, for `refcli eval humanref --grounder ...`.

    python tests/data/humanref_objects/make.py
    refcli eval humanref --annotations tests/data/humanref_objects/annotations.jsonl --images tests/data \
        --use-candidates --grounder owlv2 --grounder-model FOLDER

Image names are relative to tests/data. Candidates are the hand-checked person boxes of the mini
set (tests/data/humanref_mini). Answers were given by looking at each picture with its numbered
boxes; expressions whose answer was not plain to see by eye (two people equally near the lamp
post, a cone between two walkers) were left out rather than guessed. Rejections name a thing
that is in the picture but in another relation (the astronaut's helmet is beside her, not on her
head; the flag is behind her) or a thing that is not there at all. People are called "person"
here because the embedded referrer does not judge gender (it lists "man" as unsupported), and
this set measures the object path.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
MINI = HERE.parent / "humanref_mini" / "annotations.jsonl"

# image: [(expression, indices of the answer among the candidates)]
EXPRESSIONS = {
    "camera.png": [
        ("the person holding a camera", [0]),
        ("the person using a camera", [0]),
        ("the person next to a tripod", [0]),
        ("the person holding a phone", []),
        ("the person riding a bicycle", []),
    ],
    "astronaut.jpg": [
        ("the person with a helmet", [0]),
        ("the person in front of a flag", [0]),
        ("the person wearing a helmet", []),
        ("the person holding a flag", []),
    ],
    "messi5.jpg": [
        ("the person next to the ball", [0]),
        ("the person standing on the grass", [0]),
        ("the person holding a ball", []),
        ("the person sitting on a chair", []),
    ],
    "humanref_mini/vtest_0.0.jpg": [
        ("the person next to the lamp post", [2]),
        ("the person standing on the grass", [4]),
        ("the person holding a sheet of paper", [3]),
        ("the person riding a bicycle", []),
    ],
    "humanref_mini/vtest_2.0.jpg": [
        ("the person standing on the grass", [6]),
        ("the person holding an umbrella", []),
    ],
    "humanref_mini/vtest_3.5.jpg": [
        ("the person standing on the grass", [7]),
        ("the person carrying a suitcase", []),
    ],
}


def main() -> None:
    candidates: dict[str, list[list[int]]] = {}
    for line in MINI.read_text().splitlines():
        row = json.loads(line)
        candidates.setdefault(row["image_name"], row["candidate_boxes"])
    rows = []
    for image, expressions in EXPRESSIONS.items():
        boxes = candidates[image]
        for text, answer in expressions:
            rows.append({"id": len(rows), "image_name": image, "domain": "rejection" if not answer else "interaction",
                         "sub_domain": "objects", "referring": text, "answer_boxes": [boxes[i] for i in answer],
                         "candidate_boxes": boxes})
    (HERE / "annotations.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    print(f"{len(rows)} expressions, {sum(not r['answer_boxes'] for r in rows)} rejections")


if __name__ == "__main__":
    main()
