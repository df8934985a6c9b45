"""The embedded referrer on synthetic frames: position logic, multi-instance, rejection."""

from __future__ import annotations

import numpy as np
import pytest

from refcli.errors import BackendError
from refcli.features import Measured
from refcli.features.colors import ClothingColours
from refcli.features.face_traits import AGE_BANDS, EXPRESSIONS, FaceTraits
from refcli.features.faces import SeenFaces
from refcli.features.motion import MotionCues
from refcli.features.pose import PoseCues
from refcli.refer import ReferRequest, create_referrer, referrers

W, H = 1000, 600
# five people left to right; the third stands higher (further away)
ROW = [[50, 200, 150, 500], [250, 210, 330, 480], [450, 100, 520, 300], [640, 220, 720, 520], [860, 190, 950, 560]]


def ask(expression: str, boxes=ROW, size=(W, H)):
    boxes = np.array(boxes, np.float32).reshape(-1, 4)
    scores = np.linspace(0.9, 0.5, len(boxes)).astype(np.float32)
    referrer = create_referrer("embedded")
    return referrer.refer([ReferRequest(expression, boxes, scores, size)])[0]


@pytest.mark.parametrize(("expression", "expected"), [
    ("person", [0, 1, 2, 3, 4]),
    ("everyone", [0, 1, 2, 3, 4]),
    ("the leftmost person", [0]),
    ("the rightmost person", [4]),
    ("the person on the left", [0]),
    ("the person on the right", [4]),
    ("people on the left", [0, 1, 2]),
    ("people on the right", [3, 4]),
    ("the second person from the left", [1]),
    ("the second person from the right", [3]),
    ("the fifth person from the left", [4]),
    ("the sixth person from the left", []),
    ("the person in the middle", [2]),
    ("people in the middle", [2]),
    ("the topmost person", [2]),
    ("the person at the bottom", [4]),
    ("the second person from the left on the left", [1]),
])
def test_positions(expression: str, expected: list[int]) -> None:
    result = ask(expression)
    assert list(result.indexes) == expected
    assert result.unsupported == ()
    assert len(result.scores) == len(expected)


def test_scores_are_the_detector_confidences() -> None:
    result = ask("the rightmost person")
    assert result.scores == pytest.approx((0.5,))


def test_a_lone_person_is_on_the_left_only_if_they_are() -> None:
    lone_left = [[50, 200, 150, 500]]
    assert ask("the person on the left", lone_left).indexes == (0,)
    assert ask("the person on the right", lone_left).indexes == ()
    assert ask("the leftmost person", lone_left).indexes == (0,)


def test_middle_needs_someone_near_the_centre() -> None:
    two = [[50, 200, 150, 500], [860, 190, 950, 560]]
    assert ask("the person in the middle", two).indexes == ()


def test_unsupported_expression_chooses_nobody() -> None:
    result = ask("the person singing on the left")
    assert result.indexes == () and result.scores == ()
    assert result.unsupported == ("singing",)
    ungrounded = ask("the person holding a bag on the left")  # a thing, but no grounder found it
    assert ungrounded.indexes == () and ungrounded.unsupported[0].startswith("holding a bag (")


def test_ignoring_unsupported_answers_the_rest() -> None:
    boxes = np.array(ROW, np.float32)
    referrer = create_referrer("embedded", ignore_unsupported=True)
    result = referrer.refer([ReferRequest("the player holding a bag on the left", boxes, np.ones(5, np.float32),
                                          (W, H))])[0]
    assert result.indexes == (0,) and result.unsupported == () and result.ignored == ("holding a bag",)
    assert referrer.ignored("the player holding a bag on the left") == ("player",)


def measured(**values) -> Measured:
    """What the features offer about one candidate: colours=(upper, lower) shares or None,
    faces=[embeddings], pose={cue: (value, confidence)} or None, motion=... ."""
    kinds = {"colours": lambda v: None if v is None else ClothingColours(*v), "faces": SeenFaces,
             "pose": lambda v: None if v is None else PoseCues(v),
             "motion": lambda v: None if v is None else MotionCues(v)}
    return Measured({key: kinds[key](value) for key, value in values.items()})


# measured features for the five people of ROW
RED, BLUE, BLACK = {"red": 0.6}, {"blue": 0.7}, {"black": 0.8}
COLOURS = [(RED, BLUE), (BLACK, BLUE), (RED, BLACK), (BLUE, BLACK), None]  # None: a grayscale picture
FACES = [[], [[0.0] * 128], [], [[1.0] * 128], []]
FEATURES = [measured(colours=c, faces=f) for c, f in zip(COLOURS, FACES)]


def ask_with(expression: str, features=FEATURES, gallery=None):
    referrer = create_referrer("embedded", gallery=gallery or {})
    request = ReferRequest(expression, np.array(ROW, np.float32), np.linspace(0.9, 0.5, 5).astype(np.float32),
                           (W, H), features=features)
    return referrer.refer([request])[0]


@pytest.mark.parametrize(("expression", "expected"), [
    ("people in red", [0, 2]),
    ("the person in a red jacket", [0, 2]),  # singular without position: every match (multi-instance)
    ("the leftmost person in red", [0]),
    ("the person in a red jacket and black trousers", [2]),
    ("people in blue jeans", [0, 1]),
    ("people not wearing red", [1, 3]),  # the grayscale one is not claimed either way
    ("people in red or blue", [0, 1, 2, 3]),
    ("the person in a green coat", []),  # nobody in green: an empty answer, not a guess
    ("the two people in red", [0, 2]),
    ("the three people in red", []),  # only two wear red
    ("the person next to the person in a blue jacket", [2]),
    ("the second person from the right in red", [0]),
    ("the nearest person in red", [0]),
])
def test_measured_colours(expression: str, expected: list[int]) -> None:
    result = ask_with(expression)
    assert list(result.indexes) == expected and result.unsupported == ()


def test_named_people_from_the_gallery() -> None:
    gallery = {"Ada Lovelace": [[0.05] * 128], "Alan Turing": [[5.0] * 128]}
    assert ask_with("Ada Lovelace", gallery=gallery).indexes == (1,)
    assert ask_with("Alan Turing", gallery=gallery).indexes == ()  # in the gallery, not in the picture
    assert ask_with("the person next to Ada Lovelace", gallery=gallery).indexes in ((0,), (2,))
    assert ask_with("Grace Hopper", gallery=gallery).unsupported == ("grace hopper",)


def test_features_that_were_not_measured_are_unsupported() -> None:
    no_faces = [measured(colours=c) for c in COLOURS]
    result = ask_with("Ada Lovelace", features=no_faces, gallery={"Ada Lovelace": [[0.0] * 128]})
    assert result.indexes == () and "faces (not indexed" in result.unsupported[0]
    result = ask_with("people in red", features=[Measured() for _ in FEATURES])
    assert result.indexes == () and "clothing colours" in result.unsupported[0]


def test_no_candidates_no_answer() -> None:
    assert ask("person", []).indexes == ()


def test_batches_keep_order() -> None:
    referrer = create_referrer("embedded")
    boxes = np.array(ROW, np.float32)
    scores = np.ones(5, np.float32)
    results = referrer.refer([ReferRequest(q, boxes, scores, (W, H)) for q in ("leftmost", "rightmost", "people")])
    assert [r.indexes for r in results] == [(0,), (4,), (0, 1, 2, 3, 4)]


def test_unknown_referrer() -> None:
    assert "embedded" in referrers.names()
    with pytest.raises(BackendError, match="unknown referrer"):
        create_referrer("nope")


def judged(expression: str, features: list[Measured]) -> list[int]:
    """Whom the embedded referrer chooses among the five people of ROW, given what was measured."""
    result = create_referrer("embedded").refer([ReferRequest(expression, np.array(ROW, np.float32),
                                                             np.ones(5, np.float32), (W, H), features=features)])[0]
    assert not result.unsupported, result.unsupported
    return list(result.indexes)


def test_pose_and_motion_cues_filter_then_position_ranks() -> None:
    """Cues narrow who is meant, positions rank among them; unknown never matches, negated or not."""
    pose = [{"posture": ("sitting", 0.9)}, {"posture": ("standing", 0.9)}, {"posture": ("sitting", 0.8)},
            {"posture": ("unknown", 0.2)}, None]
    motion = [{"horizontal": ("left", 1.0)}, {"horizontal": ("right", 1.0)}, {"horizontal": ("none", 1.0)},
              {"horizontal": ("left", 0.5)}, {"horizontal": ("unknown", 0.0)}]
    features = [measured(colours=None, pose=p, motion=m) for p, m in zip(pose, motion)]

    def chosen(expression: str) -> list[int]:
        return judged(expression, features)

    assert chosen("people sitting") == [0, 2]
    assert chosen("the person on the right who is sitting") == [2]
    assert chosen("people who are not sitting") == [1]  # 3 and 4: pose unknown, not "not sitting"
    assert chosen("people walking to the left") == [0, 3]
    assert chosen("the person sitting and walking to the left") == [0]
    wants = create_referrer("embedded").wants
    assert wants("people sitting") >= {"pose"} and "motion" not in wants("people sitting")


def test_cues_without_features_are_unsupported_not_guessed() -> None:
    boxes = np.array(ROW, np.float32)
    referrer = create_referrer("embedded")
    stored = [measured(colours=None) for _ in ROW]  # indexed without --pose, motion not measured
    result = referrer.refer([ReferRequest("people kneeling", boxes, np.ones(5, np.float32), (W, H),
                                          features=stored)])[0]
    assert result.indexes == () and "refcli index --pose" in result.unsupported[0]
    result = referrer.refer([ReferRequest("people walking away", boxes, np.ones(5, np.float32), (W, H),
                                          features=stored)])[0]
    assert result.indexes == () and "motion" in result.unsupported[0]


def traits(male: float, band: str, expression: str = "neutral") -> FaceTraits:
    return FaceTraits(1, 80.0, male, {b: float(b == band) for b in AGE_BANDS},
                      {e: float(e == expression) for e in EXPRESSIONS})


def test_who_a_person_is_comes_from_their_face_and_unknown_never_matches() -> None:
    """A man is a male adult, a boy a male child; a face not seen (None) or whose gender the model
    does not say (P(male) near 0.5) matches nothing, negated or not."""
    faces = [traits(0.9, "adult", "happy"), traits(0.1, "young adult"), traits(0.95, "child", "happy"),
             traits(0.52, "senior"), None]
    features = [Measured({"traits": t}) for t in faces]

    def chosen(expression: str) -> list[int]:
        return judged(expression, features)

    assert chosen("the man") == [0] and chosen("men") == [0]
    assert chosen("the woman") == [1] and chosen("the boy") == [2] and chosen("girls") == []
    assert chosen("children") == [2] and chosen("adults") == [0, 1, 3]  # 3's age is read; 4 shows no face
    assert chosen("the old person") == [3] and chosen("the old man") == []  # 3: gender unsaid
    assert chosen("people who are smiling") == [0, 2]
    assert chosen("people who are not smiling") == [1, 3]  # 4: no face, so not "not smiling" either
    assert chosen("the man on the left") == [0] and chosen("the man on the right") == []
    assert chosen("the leftmost woman") == [1]
    wants = create_referrer("embedded").wants
    assert "traits" in wants("the man") and "traits" not in wants("the person")


def test_traits_without_faces_read_are_unsupported_not_guessed() -> None:
    boxes = np.array(ROW, np.float32)
    result = create_referrer("embedded").refer([ReferRequest("the woman", boxes, np.ones(5, np.float32), (W, H),
                                                             features=[Measured() for _ in ROW])])[0]
    assert result.indexes == () and "re-index" in result.unsupported[0]


def test_people_with_people_judge_both_descriptions() -> None:
    """ "The man talking to the woman": the other person is described like any subject and
    judged on the same candidates; nobody relates to themselves; unknown never matches."""
    boxes = [[100, 100, 200, 400], [230, 110, 320, 400], [700, 100, 800, 400], [720, 320, 780, 430],
             [560, 100, 660, 400]]
    faces = [traits(0.9, "adult"), traits(0.1, "adult"), traits(0.1, "adult"), traits(0.9, "child"), None]
    features = [Measured({"traits": t}) for t in faces]
    referrer = create_referrer("embedded")

    def chosen(expression: str) -> list[int]:
        request = ReferRequest(expression, np.array(boxes, np.float32), np.ones(5, np.float32), (W, H),
                               features=features)
        result = referrer.refer([request])[0]
        assert not result.unsupported, result.unsupported
        return list(result.indexes)

    assert chosen("the man talking to the woman") == [0]
    assert chosen("the woman talking to a man") == [1]  # 2 is a woman too, but stands alone
    assert chosen("the boy in front of the woman") == [3]
    assert chosen("the woman behind the boy") == [2]
    assert chosen("the person between the man and the boy") == [1, 4]  # 4's face unseen: still a person
    assert chosen("the man between the woman and the boy") == []  # 0 is not between them
    assert chosen("the woman hugging a boy") == [2]
    assert "keypoints" in referrer.wants("the man talking to the woman")


def test_corners_and_far_away_on_a_side() -> None:
    boxes = [[20, 20, 80, 200], [900, 30, 960, 180], [880, 300, 990, 590], [40, 350, 160, 590], [700, 40, 740, 140]]
    assert list(ask("the person in the top right corner", boxes).indexes) == [1]
    assert list(ask("people in the top right", boxes).indexes) == [1, 4]
    assert list(ask("the person in the bottom left corner", boxes).indexes) == [3]
    assert list(ask("the person far away on the right", boxes).indexes) == [4]  # the smallest on the right

