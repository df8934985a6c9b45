"""Build the mini HumanRef set (annotations.jsonl + three vtest frames) from tests/data.

    python tests/data/humanref_mini/make.py
    refcli eval humanref --annotations tests/data/humanref_mini/annotations.jsonl --images tests/data ...

Image names are relative to tests/data (the portraits are the test photos themselves).

Ground truth: person boxes from tests/data/people.json (checked by eye, see tests/data/README.md)
and, for the portraits, the detector's box checked by eye on a render. Clothing labels were
given by looking at crops of every person (rendered at 200 px height), not by the colour
measurement. Position answers follow from the boxes (centre x, box height).
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

HERE = Path(__file__).parent
DATA = HERE.parent

# Clothing seen by eye on each vtest person (index into people.json's list for that frame).
CLOTHES = {
    "0.0": ["black jacket, jeans", "black jacket, jeans", "black top, black trousers", "red-navy jacket, dark jeans",
            "black coat, jeans", "blue jacket, gray trousers"],
    "2.0": ["black jacket, jeans", "black jacket, jeans", "red top", "black top, black trousers",
            "red-navy jacket, jeans", "blue jacket, gray trousers", "black coat, jeans"],
    "3.5": ["black jacket, jeans", "black jacket, jeans", "blue jacket, gray trousers", "red top, jeans",
            "red-navy jacket, dark jeans", "black top, black trousers", "black jacket, dark trousers",
            "black coat, jeans"],
}
PORTRAITS = {  # image: (person box, what is seen)
    "messi5.jpg": ([83, 65, 446, 327], "red and blue striped shirt, dark red shorts"),
    "obama3.jpg": ([92, 92, 527, 995], "dark suit, white shirt, lilac tie"),
    "biden.jpg": ([4, 20, 440, 992], "black suit, white shirt, striped tie"),
    "astronaut.jpg": ([5, 31, 378, 509], "orange space suit"),
    "camera.png": ([1, 67, 301, 512], "black coat (grayscale photo)"),
}


def main() -> None:
    from refcli.io.video import sample_video

    people = json.loads((DATA / "people.json").read_text())["vtest_4s.mp4"]
    frames = {s.time: s.image for s in sample_video(str(DATA / "vtest_4s.mp4"), 2.0)}
    rows: list[dict] = []

    def add(image: str, domain: str, sub: str, text: str, answer: list, candidates: list) -> None:
        rows.append({"id": len(rows), "image_name": image, "domain": domain, "sub_domain": sub,
                     "referring": text, "answer_boxes": answer, "candidate_boxes": candidates})

    for time, boxes in people.items():
        image = f"humanref_mini/vtest_{time}.jpg"
        Image.fromarray(frames[float(time)]).save(DATA / image, quality=95)
        cx = [(b[0] + b[2]) / 2 for b in boxes]
        height = [b[3] - b[1] for b in boxes]
        by_x = sorted(range(len(boxes)), key=lambda i: cx[i])
        pick = lambda idx, boxes=boxes: [boxes[i] for i in idx]  # noqa: E731
        clothes = CLOTHES[time]
        red = [i for i, c in enumerate(clothes) if c.startswith("red")]
        add(image, "position", "extremes", "the leftmost person", pick(by_x[:1]), boxes)
        add(image, "position", "extremes", "the rightmost person", pick(by_x[-1:]), boxes)
        add(image, "position", "ordinals", "the second person from the left", pick(by_x[1:2]), boxes)
        add(image, "position", "ordinals", "the second person from the right", pick(by_x[-2:-1]), boxes)
        add(image, "position", "ordinals", "the third person from the left", pick(by_x[2:3]), boxes)
        add(image, "position", "regions", "people on the left", pick(i for i in range(len(boxes)) if cx[i] < 384),
            boxes)
        add(image, "position", "regions", "people on the right",
            pick(i for i in range(len(boxes)) if cx[i] > 384), boxes)
        add(image, "position", "depth", "the person closest to the camera",
            pick([max(range(len(boxes)), key=lambda i: height[i])]), boxes)
        add(image, "position", "depth", "the person farthest from the camera",
            pick([min(range(len(boxes)), key=lambda i: height[i])]), boxes)
        add(image, "attribute", "colours", "the person in a blue jacket",
            pick(i for i, c in enumerate(clothes) if c.startswith("blue jacket")), boxes)
        add(image, "attribute", "colours", "the person in a blue jacket and gray trousers",
            pick(i for i, c in enumerate(clothes) if c == "blue jacket, gray trousers"), boxes)
        add(image, "attribute", "colours", "people in red", pick(red), boxes)
        add(image, "attribute", "colours", "people wearing black jackets",
            pick(i for i, c in enumerate(clothes) if c.startswith(("black jacket", "black coat", "black top"))),
            boxes)
        add(image, "attribute", "colours and position", "the leftmost person in red",
            pick([min(red, key=lambda i: cx[i])]), boxes)
        add(image, "attribute", "negation", "people not wearing red",
            pick(i for i in range(len(boxes)) if i not in red), boxes)
        add(image, "rejection", "colours", "the person in a yellow jacket", [], boxes)
        add(image, "rejection", "colours", "the person in a green shirt", [], boxes)
        add(image, "rejection", "actions", "the person riding a bicycle", [], boxes)

    messi, obama, biden, astro, camera = (PORTRAITS[k][0] for k in PORTRAITS)
    add("messi5.jpg", "attribute", "colours", "the person in a red and blue shirt", [messi], [messi])
    add("messi5.jpg", "position", "extremes", "the leftmost person", [messi], [messi])
    add("messi5.jpg", "celebrity", "names", "Lionel Messi", [messi], [messi])
    add("messi5.jpg", "rejection", "colours", "the person in a yellow shirt", [], [messi])
    add("obama3.jpg", "celebrity", "names", "Barack Obama", [obama], [obama])
    add("obama3.jpg", "attribute", "colours", "the person in a dark suit", [obama], [obama])
    add("obama3.jpg", "rejection", "colours", "the person in a red dress", [], [obama])
    add("biden.jpg", "celebrity", "names", "Joe Biden", [biden], [biden])
    add("biden.jpg", "attribute", "colours", "the person in a black suit", [biden], [biden])
    add("biden.jpg", "rejection", "names", "Barack Obama", [], [biden])
    add("astronaut.jpg", "attribute", "colours", "the person in an orange suit", [astro], [astro])
    add("astronaut.jpg", "attribute", "occupation", "the astronaut", [astro], [astro])
    add("astronaut.jpg", "rejection", "names", "Barack Obama", [], [astro])
    add("camera.png", "attribute", "grayscale", "the person in a black coat", [camera], [camera])
    add("camera.png", "position", "regions", "the person on the left", [camera], [camera])
    add("camera.png", "rejection", "grayscale", "the person in a red coat", [], [camera])
    (HERE / "annotations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} expressions")


if __name__ == "__main__":
    main()
