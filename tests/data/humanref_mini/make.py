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


# How each vtest person moves around the labelled frames, judged by eye on strips of crops at
# t-1, t-0.5, t, t+0.5, t+1 s (index into people.json's list for that frame): L/R sideways,
# A = away from the camera (up the plaza), S = standing still. "?" marks a judgement call.
MOTION = {
    "0.0": ["R", "L", "A", "L", "L", "L"],  # 2 walks slowly away, his back to us
    "2.0": ["L?", "R", "R", "RA", "L", "L", "L"],  # 0 arrives from the right and stops by 3.0
    "3.5": ["S", "R", "L", "R", "L", "R", "L", "L?"],  # 6 enters at the right edge; 7 slows down
}
VIDEO = "../../examples/footage/plaza.mp4"  # frames 500-799 of vtest.avi; vtest_4s.mp4 is 660-699
VIDEO_OFFSET = 16.0


def pose_and_motion(add, people: dict) -> None:  # type: ignore[no-untyped-def]
    """Pose cues on the photos (labelled by eye) and walking directions on the vtest frames."""
    messi, obama, biden, astro, camera = (PORTRAITS[k][0] for k in PORTRAITS)
    add("obama3.jpg", "interaction", "gesture", "the person with arms crossed", [obama], [obama])
    add("biden.jpg", "interaction", "gesture", "the person with his arms folded", [biden], [biden])
    add("camera.png", "interaction", "gesture", "the person with a hand at his face", [camera], [camera])
    add("messi5.jpg", "interaction", "gesture", "the person with one arm raised", [messi], [messi])
    add("obama3.jpg", "interaction", "facing", "the person facing the camera", [obama], [obama])
    add("astronaut.jpg", "interaction", "facing", "the person looking at the camera", [astro], [astro])
    add("messi5.jpg", "rejection", "gesture", "the person with both arms raised", [], [messi])
    add("biden.jpg", "rejection", "facing", "the person facing away from the camera", [], [biden])
    add("obama3.jpg", "rejection", "posture", "the person kneeling", [], [obama])
    add("camera.png", "rejection", "posture", "the person sitting", [], [camera])
    add("camera.png", "rejection", "gesture", "the person with arms crossed", [], [camera])
    add("biden.jpg", "rejection", "gesture", "the person raising a hand", [], [biden])
    for time, boxes in people.items():
        image = f"humanref_mini/vtest_{time}.jpg"
        video = {"video": VIDEO, "time": float(time) + VIDEO_OFFSET}
        moves = [m.rstrip("?") for m in MOTION[time]]
        cx = [(b[0] + b[2]) / 2 for b in boxes]
        pick = lambda test, boxes=boxes, moves=moves: [b for b, m in zip(boxes, moves) if test(m)]  # noqa: E731
        add(image, "interaction", "motion", "people walking to the left", pick(lambda m: "L" in m), boxes, **video)
        add(image, "interaction", "motion", "people walking to the right", pick(lambda m: "R" in m), boxes, **video)
        add(image, "rejection", "motion", "people walking towards the camera", [], boxes, **video)
        add(image, "rejection", "posture", "the person lying on the ground", [], boxes)
        if time == "0.0":
            add(image, "interaction", "motion", "the person walking away from the camera", pick(lambda m: "A" in m),
                boxes, **video)
            add(image, "interaction", "posture", "people standing", boxes, boxes)
            left_walkers = [i for i, m in enumerate(moves) if "L" in m]
            add(image, "reasoning", "motion and position", "the rightmost person walking to the left",
                [boxes[max(left_walkers, key=lambda i: cx[i])]], boxes, **video)
        if time == "2.0":
            add(image, "reasoning", "motion and colours", "the person in red walking to the right",
                [boxes[2]], boxes, **video)  # the woman in the red top; the red-navy jacket (4) walks left
            add(image, "reasoning", "motion and position", "people on the left walking to the right",
                [b for b, m, x in zip(boxes, moves, cx) if "R" in m and x < 384], boxes, **video)
        if time == "3.5":
            add(image, "interaction", "motion", "the person standing still", pick(lambda m: m == "S"), boxes,
                **video)
            add(image, "rejection", "posture", "people sitting", [], boxes)


def main() -> None:
    from refcli.io.video import sample_video

    people = json.loads((DATA / "people.json").read_text())["vtest_4s.mp4"]
    frames = {s.time: s.image for s in sample_video(str(DATA / "vtest_4s.mp4"), 2.0)}
    rows: list[dict] = []

    def add(image: str, domain: str, sub: str, text: str, answer: list, candidates: list, **video: object) -> None:
        rows.append({"id": len(rows), "image_name": image, "domain": domain, "sub_domain": sub,
                     "referring": text, "answer_boxes": answer, "candidate_boxes": candidates, **video})

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
    pose_and_motion(add, people)
    (HERE / "annotations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} expressions")


if __name__ == "__main__":
    main()
