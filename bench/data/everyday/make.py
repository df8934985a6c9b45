"""Build annotations.jsonl (HumanRef format) from the hand-checked people.json and the expressions below.

    python bench/data/everyday/make.py
    refcli eval humanref --annotations bench/data/everyday/annotations.jsonl \
        --images /work/shared/media --out /tmp/p.jsonl

Each expression names its answer by the indices of the people in people.json (the candidates are
every person of the image, in that order); [] is a rejection: nobody in the picture fits. Answers
were given by looking at the numbered renders; expressions whose answer was not plain to see (who
owns which dog, whether the man with a headset is filming) were left out rather than guessed.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent

# image: [(domain, sub_domain, expression, answer indices)]
EXPRESSIONS: dict[str, list[tuple[str, str, str, list[int]]]] = {
    "coco/coco192.jpg": [  # 0 player with a bat at the left edge, 1 batter, 2 umpire, 3 catcher
        ("attribute", "clothing", "the man in the black shirt", [2]),
        ("attribute", "clothing", "the players in white uniforms", [0, 1]),
        ("attribute", "clothing", "the player with the red helmet", [3]),
        ("attribute", "gender and age", "all the men", [0, 1, 2, 3]),
        ("attribute", "posture", "the man with his hands on his hips", [2]),
        ("position", "extremes", "the person on the far left", [0]),
        ("position", "extremes", "the rightmost person", [3]),
        ("position", "relative", "the man standing between the batter and the catcher", [2]),
        ("interaction", "objects", "the player holding a baseball bat", [0]),
        ("reasoning", "negation", "the player in white who is not holding a bat", [1]),
        ("reasoning", "negation", "the players who are not holding a bat", [1, 3]),
        ("rejection", "gender and age", "the woman in the black shirt", []),
        ("rejection", "objects", "the player holding a tennis racket", []),
    ],
    "coco/coco257.jpg": [  # see people.json for the 19 people
        ("interaction", "objects", "the man pushing a stroller", [4]),
        ("interaction", "objects", "the man carrying a backpack", [4]),
        ("interaction", "objects", "the woman with a handbag", [9]),
        ("interaction", "objects", "the person at the drinking fountain", [1]),
        ("attribute", "clothing", "the women wearing red", [3, 9]),
        ("attribute", "clothing", "the person in the red dress", [3]),
        ("attribute", "clothing", "the man in khaki trousers", [10]),
        ("attribute", "clothing", "the people wearing red caps", [17, 18]),
        ("attribute", "clothing", "the woman in light blue shorts", [8]),
        ("attribute", "clothing", "the people in black t-shirts", [7, 10, 12]),
        ("interaction", "people", "the man talking to the woman in the red top", [10]),
        ("interaction", "people", "the woman in red talking to a man in khaki trousers", [9]),
        ("reasoning", "multiple cues", "the man in a green shirt behind the man with the stroller", [5]),
        ("position", "regions", "the people standing by the red food truck on the right", [13, 14, 15, 16, 17, 18]),
        ("position", "extremes", "the rightmost person", [18]),
        ("rejection", "clothing", "the man in a yellow shirt", []),
        ("rejection", "objects", "the child holding a balloon", []),
    ],
    "coco/coco294.jpg": [
        ("attribute", "clothing", "the man in the grey t-shirt", [0]),
        ("attribute", "gaze", "the man looking at the camera", [0]),
        ("interaction", "objects", "the man pointing at the pans", [0]),
        ("rejection", "gender and age", "the woman cooking at the stove", []),
        ("rejection", "objects", "the man holding a cup", []),
    ],
    # 0 pitcher, 1 runner, 2 field umpire, 3 fielder, 4 man bent over at the right, 5 batter, 6 catcher, 7 umpire
    "coco/coco357.jpg": [
        ("attribute", "occupation", "the pitcher", [0]),
        ("attribute", "occupation", "the umpires", [2, 7]),
        ("attribute", "clothing", "the men dressed in black", [2, 7]),
        ("attribute", "clothing", "the players in grey uniforms", [0, 3, 6]),
        ("attribute", "clothing", "the players in white uniforms", [1, 4, 5]),
        ("interaction", "objects", "the player holding a bat", [5]),
        ("interaction", "people", "the player crouching in front of the umpire", [6]),
        ("position", "regions", "the person standing on the pitcher's mound", [0]),
        ("position", "regions", "the four people at the top of the picture", [1, 2, 3, 4]),
        ("position", "extremes", "the rightmost person", [7]),
        ("reasoning", "negation", "the players in grey who are not on the mound", [3, 6]),
        ("rejection", "clothing", "the player in a blue uniform", []),
        ("rejection", "gender and age", "the woman in the red dress", []),
    ],
    "coco/coco360.jpg": [
        ("interaction", "objects", "the person on a snowboard", [0]),
        ("attribute", "posture", "the snowboarder in the air", [0]),
        ("rejection", "objects", "the person on skis", []),
    ],
    "coco/coco415.jpg": [
        ("interaction", "objects", "the man holding a tennis racket", [0]),
        ("attribute", "clothing", "the tennis player in blue shorts", [0]),
        ("attribute", "clothing", "the man wearing a headband", [0]),
        ("rejection", "gender and age", "the woman holding a tennis racket", []),
        ("rejection", "clothing", "the man in white shorts", []),
    ],
    "coco/coco474.jpg": [
        ("interaction", "objects", "the boy wearing a baseball glove", [0]),
        ("attribute", "gender and age", "the child", [0]),
        ("attribute", "clothing", "the kid in the tie-dye shirt", [0]),
        ("rejection", "gender and age", "the girl with a baseball glove", []),
        ("rejection", "gender and age", "the man holding a baseball bat", []),
    ],
    "coco/coco488.jpg": [  # 0 umpire, 1 catcher, 2 batter, 3 man behind the batter, 4 infielder at the right
        ("interaction", "objects", "the batter holding a bat", [2]),
        ("interaction", "objects", "the players wearing baseball gloves", [1, 4]),
        ("attribute", "clothing", "the players in maroon", [1, 4]),
        ("attribute", "clothing", "the man in black", [0]),
        ("attribute", "posture", "the people crouching", [0, 1, 4]),
        ("position", "relative", "the player crouching between the umpire and the batter", [1]),
        ("position", "relative", "the person standing behind the batter", [3]),
        ("position", "regions", "the player far away on the right", [4]),
        ("position", "extremes", "the leftmost person", [0]),
        ("reasoning", "multiple cues", "the player in maroon closest to the camera", [1]),
        ("rejection", "posture", "the player sitting on the bench", []),
        ("rejection", "gender and age", "the woman in the maroon shirt", []),
    ],
    # 0, 2 seated players; 1 headset; 3 umpire; 4 lime shirt; 5 catcher; 6, 9 camera operators; 7 woman;
    # 8 white shirt; 10 batter
    "coco/coco544.jpg": [
        ("attribute", "occupation", "the batter", [10]),
        ("attribute", "clothing", "the man in the lime green shirt", [4]),
        ("attribute", "gender and age", "the woman behind the wall", [7]),
        ("attribute", "posture", "the people crouching at home plate", [3, 5]),
        ("interaction", "objects", "the player wearing a baseball glove", [5]),
        ("interaction", "people", "the umpire with his hand on the catcher's back", [3]),
        ("reasoning", "multiple cues", "the man in the white shirt behind the wall", [8]),
        ("reasoning", "multiple cues", "the two men sitting on the left", [0, 2]),
        ("position", "extremes", "the rightmost person", [10]),
        ("position", "relative", "the man crouching behind the catcher", [3]),
        ("rejection", "objects", "the player holding a bat", []),
        ("rejection", "posture", "the man in a red shirt sitting on the bench", []),
    ],
    "coco/coco564.jpg": [  # 0 tennis player, 1 spectator
        ("interaction", "objects", "the man holding a tennis racket", [0]),
        ("interaction", "objects", "the man sitting on a chair", [1]),
        ("attribute", "gender and age", "the old man in the yellow shirt", [1]),
        ("attribute", "gender and age", "the two men", [0, 1]),
        ("attribute", "clothing", "the man dressed in white", [0]),
        ("reasoning", "multiple cues", "the person watching the match from the stands", [1]),
        ("position", "regions", "the person in the top right corner", [1]),
        ("rejection", "gender and age", "the woman in the yellow shirt", []),
    ],
    "coco/coco569.jpg": [
        ("interaction", "objects", "the woman flying a kite", [0]),
        ("attribute", "clothing", "the woman in the white coat", [0]),
        ("attribute", "gaze", "the person with her back to the camera", [0]),
        ("rejection", "gender and age", "the man flying a kite", []),
        ("rejection", "posture", "the woman sitting on the steps", []),
    ],
    "coco/coco589.jpg": [
        ("attribute", "clothing", "the man in the white t-shirt", [0]),
        ("attribute", "clothing", "the man in camouflage shorts", [0]),
        ("rejection", "gender and age", "the woman in the white t-shirt", []),
        ("rejection", "objects", "the man holding a tennis racket", []),
    ],
    "biden.jpg": [
        ("celebrity", "names", "Joe Biden", [0]),
        ("attribute", "gender and age", "the old man with his arms crossed", [0]),
        ("attribute", "clothing", "the man in the striped tie", [0]),
        ("interaction", "objects", "the man wearing a tie", [0]),
        ("rejection", "gender and age", "the woman in the black suit", []),
        ("rejection", "names", "Barack Obama", []),
    ],
    "obama.jpg": [
        ("celebrity", "names", "Barack Obama", [0]),
        ("attribute", "expression", "the smiling man", [0]),
        ("attribute", "expression", "the person who is smiling", [0]),
        ("attribute", "clothing", "the man in the blue tie", [0]),
        ("attribute", "posture", "the man with his arms folded", [0]),
        ("rejection", "clothing", "the man in a red tie", []),
    ],
    "obama3.jpg": [  # 0 Obama, 1 a person in green at the right edge (only an arm and side visible)
        ("celebrity", "names", "Obama", [0]),
        ("attribute", "clothing", "the man with the purple tie", [0]),
        ("attribute", "clothing", "the person in green", [1]),
        ("attribute", "posture", "the man with his arms crossed", [0]),
        ("position", "extremes", "the person at the right edge", [1]),
        ("rejection", "clothing", "the woman in the red dress", []),
    ],
    "messi5.jpg": [
        ("interaction", "objects", "the football player kicking the ball", [0]),
        ("attribute", "clothing", "the man in the red and blue striped shirt", [0]),
        ("celebrity", "names", "Lionel Messi", [0]),
        ("rejection", "clothing", "the player in the white shirt", []),
        ("rejection", "occupation", "the referee", []),
    ],
}


def build() -> list[dict]:
    people = json.loads((HERE / "people.json").read_text(encoding="utf-8"))
    rows = []
    for image, expressions in EXPRESSIONS.items():
        boxes = [p["box"] for p in people[image]["people"]]
        for domain, sub, text, answer in expressions:
            if (domain == "rejection") != (not answer):
                raise ValueError(f"{image}: {text!r}: rejections, and only they, have no answer")
            rows.append({"id": len(rows), "image_name": image, "domain": domain, "sub_domain": sub,
                         "referring": text, "answer_boxes": [boxes[i] for i in answer], "candidate_boxes": boxes})
    return rows


if __name__ == "__main__":
    rows = build()
    with open(HERE / "annotations.jsonl", "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    print(f"{len(rows)} expressions on {len(EXPRESSIONS)} images")
