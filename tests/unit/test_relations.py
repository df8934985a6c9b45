"""Person-object relations on hand-made scenes: a person box, keypoints when "pose" saw them,
object boxes, and the answer a person looking at the scene would give (None: cannot tell)."""

from __future__ import annotations

import pytest

from refcli.refer.relations import PERSON_JUDGES, Body, between, relates, talking_to, with_people

P = (100.0, 100.0, 200.0, 400.0)  # standing, 100 px wide, 300 px tall, feet at y=400
ARMS_DOWN = {"nose": (150, 125), "left_ear": (162, 122), "right_ear": (138, 122), "left_shoulder": (175, 160),
             "right_shoulder": (125, 160), "left_hip": (170, 265), "right_hip": (130, 265),
             "left_wrist": (182, 262), "right_wrist": (118, 262), "left_ankle": (165, 395), "right_ankle": (135, 395)}
HAND_UP = {**ARMS_DOWN, "right_wrist": (95, 120)}  # right hand raised beside the head
HEAD_LEFT = {**ARMS_DOWN, "nose": (132, 125)}  # head turned to the picture's left
HEAD_RIGHT = {**ARMS_DOWN, "nose": (168, 125)}
SITTING = (300.0, 150.0, 400.0, 350.0)  # a sitting person: hips at ~y 275
SITTING_KP = {"left_hip": (370, 275), "right_hip": (330, 275), "left_shoulder": (375, 190),
              "right_shoulder": (325, 190)}
LYING = (100.0, 300.0, 400.0, 380.0)

CASES = [
    # --- holding -------------------------------------------------------------------------------
    ("holding", P, ARMS_DOWN, [(170, 240, 200, 290)], "microphone", True),  # in the left hand
    ("holding", P, ARMS_DOWN, [(105, 250, 125, 300)], "cup", True),  # in the right hand
    ("holding", P, HAND_UP, [(80, 100, 110, 135)], "phone", True),  # a raised hand holds it up
    ("holding", P, ARMS_DOWN, [(140, 110, 160, 140)], "microphone", False),  # at the mouth, hands down
    ("holding", P, ARMS_DOWN, [(400, 250, 430, 290)], "bag", False),  # far away
    ("holding", P, ARMS_DOWN, [(120, 380, 180, 420)], "ball", False),  # at the feet
    ("holding", P, {}, [(140, 200, 170, 240)], "book", True),  # wrists unseen: on the upper body
    ("holding", P, {}, [(140, 350, 170, 390)], "ball", False),  # wrists unseen: down at the legs
    ("holding", P, {}, [(0, 0, 600, 500)], "car", False),  # bigger than the person: not held
    ("holding", P, ARMS_DOWN, [(400, 250, 430, 290), (175, 250, 195, 280)], "bottle", True),  # one of two
    ("holding", P, ARMS_DOWN, [], "umbrella", False),  # nothing found
    # --- wearing -------------------------------------------------------------------------------
    ("wearing", P, ARMS_DOWN, [(120, 95, 180, 125)], "hat", True),
    ("wearing", P, ARMS_DOWN, [(130, 115, 170, 130)], "sunglasses", True),
    ("wearing", P, ARMS_DOWN, [(120, 330, 180, 400)], "hat", False),  # a hat at the feet is not worn
    ("wearing", P, ARMS_DOWN, [(125, 160, 175, 260)], "backpack", True),
    ("wearing", P, ARMS_DOWN, [(120, 380, 185, 405)], "boots", True),
    ("wearing", P, ARMS_DOWN, [(250, 95, 300, 125)], "hat", False),  # beside the person
    ("wearing", P, ARMS_DOWN, [(170, 250, 195, 275)], "watch", True),  # at a wrist
    ("wearing", P, {}, [(130, 95, 170, 150)], "helmet", True),  # no pose: top of the box
    # --- with ----------------------------------------------------------------------------------
    ("with", P, ARMS_DOWN, [(175, 250, 200, 300)], "bag", True),  # carried
    ("with", P, ARMS_DOWN, [(125, 160, 175, 260)], "backpack", True),  # worn
    ("with", P, ARMS_DOWN, [(400, 300, 450, 400)], "dog", False),
    # --- sitting on / riding -------------------------------------------------------------------
    ("sitting_on", SITTING, SITTING_KP, [(290, 260, 410, 360)], "chair", True),
    ("sitting_on", SITTING, SITTING_KP, [(200, 260, 500, 340)], "sofa", True),
    ("sitting_on", SITTING, SITTING_KP, [(450, 260, 550, 360)], "chair", False),  # the empty chair beside
    ("sitting_on", SITTING, SITTING_KP, [(300, 100, 400, 200)], "shelf", False),  # above the head
    ("sitting_on", P, ARMS_DOWN, [(100, 380, 200, 420)], "bench", False),  # standing in front of it
    ("riding", (100, 80, 200, 330), {}, [(80, 200, 230, 360)], "bicycle", True),
    ("riding", P, ARMS_DOWN, [(260, 250, 420, 400)], "bicycle", False),  # walking beside it
    # --- standing on ---------------------------------------------------------------------------
    ("standing_on", P, ARMS_DOWN, [(80, 390, 220, 430)], "box", True),
    ("standing_on", P, ARMS_DOWN, [(80, 250, 220, 430)], "table", False),  # rises above the hips: in front
    ("standing_on", P, ARMS_DOWN, [(300, 390, 400, 430)], "box", False),  # beside
    # --- lying on ------------------------------------------------------------------------------
    ("lying_on", LYING, {}, [(80, 320, 420, 400)], "bed", True),
    ("lying_on", LYING, {}, [(500, 320, 700, 400)], "bed", False),
    ("lying_on", P, ARMS_DOWN, [(80, 100, 220, 420)], "bed", False),  # standing in front of a bed
    # --- near / next to ------------------------------------------------------------------------
    ("near", P, ARMS_DOWN, [(210, 250, 380, 400)], "bicycle", True),
    ("near", P, ARMS_DOWN, [(700, 250, 870, 400)], "bicycle", False),  # far along the street
    ("near", P, ARMS_DOWN, [(230, 40, 330, 120)], "car", False),  # up the picture: far behind
    ("near", P, ARMS_DOWN, [(175, 250, 195, 280)], "phone", False),  # held, not next to
    ("near", P, ARMS_DOWN, [(0, 200, 95, 400)], "dog", True),  # on the other side
    # --- behind / in front of ------------------------------------------------------------------
    ("behind", P, ARMS_DOWN, [(50, 250, 260, 450)], "car", True),  # the car's bottom is nearer us
    ("behind", P, ARMS_DOWN, [(50, 200, 260, 380)], "fence", False),  # the person is nearer
    ("behind", P, ARMS_DOWN, [(400, 250, 600, 450)], "car", False),  # not overlapping
    ("in_front_of", P, ARMS_DOWN, [(50, 50, 260, 350)], "car", True),
    ("in_front_of", P, ARMS_DOWN, [(50, 250, 260, 450)], "car", False),
    # --- looking at ----------------------------------------------------------------------------
    ("looking_at", P, HEAD_LEFT, [(0, 150, 60, 250)], "painting", True),
    ("looking_at", P, HEAD_LEFT, [(300, 150, 360, 250)], "painting", False),
    ("looking_at", P, HEAD_RIGHT, [(300, 150, 360, 250)], "painting", True),
    ("looking_at", P, ARMS_DOWN, [(300, 150, 360, 250)], "painting", None),  # facing the camera
    ("looking_at", P, {}, [(300, 150, 360, 250)], "painting", None),  # no head keypoints
]


@pytest.mark.parametrize(("relation", "person", "keypoints", "things", "phrase", "expected"), CASES,
                         ids=[f"{c[0]}-{c[4]}-{i}" for i, c in enumerate(CASES)])
def test_relation(relation: str, person: tuple, keypoints: dict, things: list, phrase: str,
                  expected: bool | None) -> None:
    assert relates(relation, Body(person, keypoints), things, phrase) is expected


def test_enough_cases() -> None:
    assert len(CASES) >= 40
    assert sum(1 for c in CASES if c[-1] is False) >= 15  # rejections


def test_a_small_thing_between_two_people_belongs_to_the_one_it_overlaps_more() -> None:
    from refcli.refer.relations import owned_by

    left, right = Body((100, 100, 130, 200), {}), Body((128, 100, 160, 200), {})
    ball = (118, 140, 134, 156)  # 12 px over the left box, 6 over the right one
    assert owned_by([ball], [left, right], 0) == [ball] and owned_by([ball], [left, right], 1) == []
    banner = (90, 110, 170, 150)  # bigger than half a person: both may hold it
    assert owned_by([banner], [left, right], 0) == [banner] == owned_by([banner], [left, right], 1)


# --- people with people --------------------------------------------------------------------------


def body(box, keypoints=None) -> Body:
    return Body(tuple(float(v) for v in box), keypoints or {})  # type: ignore[arg-type]


LEFT_ONE = (100, 100, 200, 400)  # standing, 300 px tall, feet at 400
BESIDE = (230, 110, 320, 400)  # a step to the right, same depth
ACROSS = (700, 100, 800, 400)  # same depth, far across the picture
BEHIND_BESIDE = (250, 100, 290, 220)  # much smaller: far behind, even if close in the picture
HUGGED = (160, 180, 260, 400)  # a child overlapping the left one


@pytest.mark.parametrize(("relation", "one", "other", "expected"), [
    ("talking_to", LEFT_ONE, BESIDE, True),
    ("talking_to", LEFT_ONE, ACROSS, False),  # too far apart
    ("talking_to", LEFT_ONE, BEHIND_BESIDE, False),  # not at the same depth
    ("touching", LEFT_ONE, HUGGED, True),
    ("touching", LEFT_ONE, BESIDE, False),  # a gap between them
    ("behind", BEHIND_BESIDE, BESIDE, True),  # overlapping sideways, feet higher in the picture
    ("in_front_of", BESIDE, BEHIND_BESIDE, True),
    ("behind", BESIDE, LEFT_ONE, False),  # side by side
    ("holding", (100, 100, 300, 400), (150, 180, 230, 280), True),  # someone small on the upper body
])
def test_people_with_people(relation: str, one, other, expected: bool) -> None:
    assert PERSON_JUDGES[relation](body(one), body(other)) is expected


def test_talking_needs_neither_head_turned_away() -> None:
    """Where both heads' directions are seen, one turned away from the other rules out talking."""
    towards = {"nose": (165, 125), "left_ear": (160, 122), "right_ear": (138, 122)}  # turned right, to BESIDE
    away = {"nose": (130, 125), "left_ear": (162, 122), "right_ear": (140, 122)}  # turned left, away
    other = {"nose": (255, 130), "left_ear": (290, 127), "right_ear": (268, 127)}  # turned left, to LEFT_ONE
    assert talking_to(body(LEFT_ONE, towards), body(BESIDE, other)) is True
    assert talking_to(body(LEFT_ONE, away), body(BESIDE, other)) is False


@pytest.mark.parametrize(("middle", "expected"), [
    ((400, 100, 500, 400), True),  # on the line from one to the other, across the picture
    ((400, 0, 500, 200), False),  # far above the line (further away, not between)
    ((50, 100, 90, 400), False),  # beyond one end
])
def test_between_two_people(middle, expected: bool) -> None:
    assert between(body(middle), body(LEFT_ONE), body(ACROSS)) is expected


def test_between_into_the_picture() -> None:
    """Batter, catcher, umpire in a row going away from the camera: the catcher is between."""
    batter, catcher, umpire = (300, 200, 360, 400), (310, 250, 370, 350), (320, 180, 380, 330)
    assert between(body(catcher), body(batter), body(umpire))


def test_with_people_never_relates_someone_to_themselves() -> None:
    bodies = [body(LEFT_ONE), body(BESIDE), body(ACROSS)]
    assert with_people("talking_to", bodies, 0, [{0}]) is False
    assert with_people("talking_to", bodies, 0, [{0, 1}]) is True
    assert with_people("between", bodies, 1, [{0}, {2}]) is True
    assert with_people("between", bodies, 1, [{0}, {0}]) is False  # one person is not two sides
