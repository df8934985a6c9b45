"""The expression grammar on a table of phrasings: what it understands and what it refuses.

Each row: the phrasing and the parts of the parse it must produce (keys not given are not
checked, except `unsupported`, which is always checked: nothing may be silently dropped).
"""

from __future__ import annotations

import pytest

from refcli.refer.grammar import (
    GROWN,
    MINOR,
    ColourClause,
    Cue,
    ObjectRelation,
    Position,
    Trait,
    parse,
)

L, R, M, T, B = "left", "right", "middle", "top", "bottom"
GALLERY = ("Barack Obama", "Ada Lovelace", "Seán O'Brien")


def C(part: str, *colours: str, any_of: bool = False, negated: bool = False) -> ColourClause:
    return ColourClause(part, colours, any_of, negated)


def G(gender: str) -> Trait:
    return Trait("gender", frozenset({gender}))


def A(*bands: str) -> Trait:
    return Trait("age", frozenset(bands))


def E(*expressions: str, negated: bool = False) -> Trait:
    return Trait("expression", frozenset(expressions), negated)


MAN, WOMAN = (G("male"), Trait("age", GROWN)), (G("female"), Trait("age", GROWN))
BOY, GIRL = (G("male"), Trait("age", MINOR)), (G("female"), Trait("age", MINOR))


CASES: list[tuple[str, dict]] = [
    # --- subjects and number -----------------------------------------------------------------
    ("person", {"plural": False}),
    ("a person", {"plural": False}),
    ("the person", {"plural": False}),
    ("people", {"plural": True}),
    ("persons", {"plural": True}),
    ("everyone", {"plural": True}),
    ("everybody", {"plural": True}),
    ("all people", {"plural": True}),
    ("find all the people", {"plural": True}),
    ("show me everyone in the picture", {"plural": True}),
    ("Please find every person in this image.", {"plural": True}),
    ("humans", {"plural": True}),
    ("someone", {"plural": False}),
    ("pedestrians", {"plural": True}),
    ("each person at the right", {"plural": True, "positions": (Position(R),)}),
    ("every person on the left", {"plural": True, "positions": (Position(L),)}),
    # --- counts -------------------------------------------------------------------------------
    ("the two people", {"plural": True, "count": 2}),
    ("two people on the left", {"count": 2, "positions": (Position(L),)}),
    ("the three people in blue jeans", {"count": 3, "colours": (C("lower", "blue"),)}),
    ("both people", {"count": 2}),
    ("the 4 people", {"count": 4}),
    ("the two leftmost people", {"count": 2, "positions": (Position(L, 1),)}),
    ("the two nearest people", {"count": 2, "size": "near"}),
    ("one person", {"count": 1, "plural": False}),
    # --- extremes -----------------------------------------------------------------------------
    ("the leftmost person", {"positions": (Position(L, 1),)}),
    ("leftmost", {"positions": (Position(L, 1),)}),
    ("the right-most one", {"positions": (Position(R, 1),)}),
    ("Rightmost person", {"positions": (Position(R, 1),)}),
    ("the person on the far left", {"positions": (Position(L, 1),)}),
    ("person at the very right of the frame", {"positions": (Position(R, 1),)}),
    ("the person furthest to the right", {"positions": (Position(R, 1),)}),
    ("the topmost person", {"positions": (Position(T, 1),)}),
    ("the bottom-most person", {"positions": (Position(B, 1),)}),
    # --- regions ------------------------------------------------------------------------------
    ("the person on the right", {"plural": False, "positions": (Position(R),)}),
    ("people on the left", {"plural": True, "positions": (Position(L),)}),
    ("all people on the right hand side", {"plural": True, "positions": (Position(R),)}),
    ("the person on the left side of the image", {"positions": (Position(L),)}),
    ("the left person", {"positions": (Position(L),)}),
    ("the left-hand person", {"positions": (Position(L),)}),
    ("the person in the middle", {"positions": (Position(M),)}),
    ("person in the centre of the photo", {"positions": (Position(M),)}),
    ("the middle person", {"positions": (Position(M),)}),
    ("who is on the left", {"positions": (Position(L),)}),
    ("people at the bottom of the picture", {"plural": True, "positions": (Position(B),)}),
    ("the person towards the right", {"positions": (Position(R),)}),
    # --- ordinals -----------------------------------------------------------------------------
    ("the second person from the left", {"positions": (Position(L, 2),)}),
    ("third from the right", {"positions": (Position(R, 3),)}),
    ("the 2nd person from the right side of the photo", {"positions": (Position(R, 2),)}),
    ("first person from left", {"positions": (Position(L, 1),)}),
    ("the fourth one from the left", {"positions": (Position(L, 4),)}),
    ("the second person counting from the right", {"positions": (Position(R, 2),)}),
    ("the fifth person from the left", {"positions": (Position(L, 5),)}),
    ("the second person on the left", {"positions": (Position(L, 2),)}),
    # --- near and far -------------------------------------------------------------------------
    ("the nearest person", {"size": "near"}),
    ("the person closest to the camera", {"size": "near"}),
    ("the farthest person", {"size": "far"}),
    ("the person furthest from the camera", {"size": "far"}),
    ("the person in the foreground", {"size": "near"}),
    ("people in the background", {"size": "far", "plural": True}),
    ("the biggest person", {"size": "near"}),
    ("the smallest person", {"size": "far"}),
    ("the person in the front", {"size": "near"}),
    # --- colours, garments, synonyms ----------------------------------------------------------
    ("person in red", {"colours": (C("any", "red"),)}),
    ("the person wearing red", {"colours": (C("any", "red"),)}),
    ("the person in a red jacket", {"colours": (C("upper", "red"),)}),
    ("the person in a crimson coat", {"colours": (C("upper", "red"),)}),
    ("someone in navy trousers", {"colours": (C("lower", "blue"),)}),
    ("the person wearing a grey hoodie", {"colours": (C("upper", "gray"),)}),
    ("people in blue jeans", {"plural": True, "colours": (C("lower", "blue"),)}),
    ("the person in a green dress", {"colours": (C("any", "green"),)}),
    ("the person in a black suit", {"colours": (C("any", "black"),)}),
    ("the person in a white t-shirt", {"colours": (C("upper", "white"),)}),
    ("the person dressed in orange", {"colours": (C("any", "orange"),)}),
    ("a person with a yellow shirt", {"colours": (C("upper", "yellow"),)}),
    ("the person in dark trousers", {"colours": (C("lower", "black"),)}),
    ("the person in a dark blue jacket", {"colours": (C("upper", "blue"),)}),
    ("the person in a light shirt", {"colours": (C("upper", "white"),)}),
    ("the person in a beige coat", {"colours": (C("upper", "brown"),)}),
    ("the person in a violet skirt", {"colours": (C("lower", "purple"),)}),
    ("red shirt", {"colours": (C("upper", "red"),)}),
    # --- conjunction and disjunction ----------------------------------------------------------
    ("the person in a white shirt and dark trousers", {"colours": (C("upper", "white"), C("lower", "black"))}),
    ("the person in a red and blue shirt", {"colours": (C("upper", "red", "blue"),)}),
    ("people in red or blue", {"plural": True, "colours": (C("any", "red", "blue", any_of=True),)}),
    ("the person wearing a black jacket and blue jeans", {"colours": (C("upper", "black"), C("lower", "blue"))}),
    ("the person in red, white and blue", {"colours": (C("any", "red", "white", "blue"),)}),
    # --- negation -----------------------------------------------------------------------------
    ("people not wearing red", {"plural": True, "colours": (C("any", "red", negated=True),)}),
    ("the person without a red jacket", {"colours": (C("upper", "red", negated=True),)}),
    ("people who are not in black", {"colours": (C("any", "black", negated=True),)}),
    ("the person in a white shirt but not blue jeans",
     {"colours": (C("upper", "white"), C("lower", "blue", negated=True)), "unsupported": ("but",)}),
    # --- combinations -------------------------------------------------------------------------
    ("the second person from the left in a black jacket",
     {"positions": (Position(L, 2),), "colours": (C("upper", "black"),)}),
    ("the leftmost person in red", {"positions": (Position(L, 1),), "colours": (C("any", "red"),)}),
    ("people in blue on the right", {"positions": (Position(R),), "colours": (C("any", "blue"),)}),
    ("the nearest person in a green coat", {"size": "near", "colours": (C("upper", "green"),)}),
    # --- named people (from the gallery) ------------------------------------------------------
    ("Barack Obama", {"names": ("barack obama",)}),
    ("barack obama on the left", {"names": ("barack obama",), "positions": (Position(L),)}),
    ("find Ada Lovelace", {"names": ("ada lovelace",)}),
    ("Seán O'Brien in a red shirt", {"names": ("seán o'brien",), "colours": (C("upper", "red"),)}),
    ("Joe Biden", {"unsupported": ("joe biden",)}),  # not in the gallery
    # --- people with people -------------------------------------------------------------------
    ("the person next to the person in red", {"people": [("near", {"colours": (C("any", "red"),)})]}),
    ("the person standing beside Barack Obama", {"people": [("near", {"names": ("barack obama",)})]}),
    ("people near the leftmost person", {"plural": True, "people": [("near", {"positions": (Position(L, 1),)})]}),
    ("the man talking to a girl", {"traits": MAN, "people": [("talking_to", {"traits": GIRL})]}),
    ("the woman in red talking with the man on the left",
     {"traits": WOMAN, "colours": (C("any", "red"),),
      "people": [("talking_to", {"traits": MAN, "positions": (Position(L),)})]}),
    ("the man behind the woman in the white coat",
     {"traits": MAN, "people": [("behind", {"traits": WOMAN, "colours": (C("upper", "white"),)})]}),
    ("the child in front of the two women", {"people": [("in_front_of", {"traits": WOMAN, "count": 2})]}),
    ("the person standing between the batter and the man in red",
     {"people": [("between", {"objects": (ObjectRelation("holding", "baseball bat"),)},
                  {"traits": MAN, "colours": (C("any", "red"),)})]}),
    ("the girl between her parents", {"traits": GIRL, "unsupported": ("between her parents",)}),
    ("the person between the two men", {"people": [("between", {"traits": MAN, "count": 2})]}),
    ("the boy hugging a woman", {"traits": BOY, "people": [("touching", {"traits": WOMAN})]}),
    ("the man holding hands with the girl", {"traits": MAN, "people": [("touching", {"traits": GIRL})]}),
    ("the woman watching the man in blue", {"traits": WOMAN,
                                             "people": [("looking_at", {"traits": MAN,
                                                                        "colours": (C("any", "blue"),)})]}),
    ("the man standing between the batter and the catcher",
     {"traits": MAN, "people": [("between", {"objects": (ObjectRelation("holding", "baseball bat"),)},
                                 {"unsupported": ("catcher",)})]}),
    ("the man holding one", {"traits": MAN, "unsupported": ("holding",)}),  # "one" is nobody held
    ("the person next to the red car", {"objects": (ObjectRelation("near", "red car"),)}),
    # --- unsupported parts are reported, never dropped ----------------------------------------
    ("the worker on the left", {"positions": (Position(L),), "unsupported": ("worker",)}),
    ("the player on the left", {"positions": (Position(L),), "unsupported": ("player",)}),
    ("the soldiers in red", {"plural": True, "colours": (C("any", "red"),), "unsupported": ("soldiers",)}),
    ("red car", {"colours": (C("any", "red"),), "unsupported": ("car",)}),
    ("the person holding a microphone", {"objects": (ObjectRelation("holding", "microphone"),)}),
    ("the person at the top of the stairs", {"positions": (Position(T),), "unsupported": ("of the stairs",)}),
    ("people wearing hats on the right", {"positions": (Position(R),),
                                          "objects": (ObjectRelation("wearing", "hats"),)}),
    ("the tallest person", {"unsupported": ("tallest",)}),
    ("the person riding a bicycle", {"objects": (ObjectRelation("riding", "bicycle"),)}),
    ("the person who is yawning", {"unsupported": ("yawning",)}),
    ("the person sitting on the bench", {"objects": (ObjectRelation("sitting_on", "bench"),)}),
    # --- people with things -------------------------------------------------------------------
    ("person holding a microphone", {"objects": (ObjectRelation("holding", "microphone"),)}),
    ("the person carrying a red umbrella", {"objects": (ObjectRelation("holding", "red umbrella"),)}),
    ("the person holding a cup of coffee", {"objects": (ObjectRelation("holding", "cup of coffee"),)}),
    ("people using their phones", {"plural": True, "objects": (ObjectRelation("holding", "phones"),)}),
    ("the person wearing a hat", {"objects": (ObjectRelation("wearing", "hat"),)}),
    ("the person wearing sunglasses on the left", {"objects": (ObjectRelation("wearing", "sunglasses"),),
                                                   "positions": (Position(L),)}),
    ("the person wearing a red jacket", {"colours": (C("upper", "red"),)}),  # a garment: colours, not objects
    ("the person with a backpack", {"objects": (ObjectRelation("with", "backpack"),)}),
    ("people without a bag", {"plural": True, "objects": (ObjectRelation("with", "bag", negated=True),)}),
    ("the person holding something", {"unsupported": ("holding something",)}),  # no object phrase to ground
    ("the person sitting on a chair", {"objects": (ObjectRelation("sitting_on", "chair"),)}),
    ("the person on skis", {"objects": (ObjectRelation("on", "skis"),)}),
    ("people not on the bench", {"plural": True, "objects": (ObjectRelation("on", "bench", negated=True),)}),
    ("the man on the phone", {"traits": MAN, "objects": (ObjectRelation("holding", "phone"),)}),
    ("the man in the blue tie", {"traits": MAN, "objects": (ObjectRelation("wearing", "blue tie"),)}),
    ("people wearing red caps", {"plural": True, "objects": (ObjectRelation("wearing", "red caps"),)}),
    ("the woman in sunglasses and a red coat", {"traits": WOMAN, "colours": (C("upper", "red"),),
                                                "objects": (ObjectRelation("wearing", "sunglasses"),)}),
    ("the person in a car", {"unsupported": ("in a car",)}),  # in a car is not worn
    ("the person in the top right corner", {"positions": (Position("top right"),)}),
    ("people at the bottom left", {"plural": True, "positions": (Position("bottom left"),)}),
    ("the person far away on the right", {"size": "far", "positions": (Position(R),)}),
    ("people sitting at the table", {"plural": True, "cues": (Cue("posture", "sitting"),),
                                     "objects": (ObjectRelation("near", "table"),)}),
    ("the person standing on a box", {"objects": (ObjectRelation("standing_on", "box"),)}),
    ("the person lying on the bed", {"objects": (ObjectRelation("lying_on", "bed"),)}),
    ("the person next to a bicycle", {"objects": (ObjectRelation("near", "bicycle"),)}),
    ("the person standing behind the car", {"objects": (ObjectRelation("behind", "car"),)}),
    ("the person in front of the bus", {"objects": (ObjectRelation("in_front_of", "bus"),)}),
    ("the person looking at the painting", {"objects": (ObjectRelation("looking_at", "painting"),)}),
    ("the person in red holding a bag", {"colours": (C("any", "red"),),
                                         "objects": (ObjectRelation("holding", "bag"),)}),
    # "camera": a thing when held, whoever took the picture when looked at or stood in front of
    ("the person holding a camera", {"objects": (ObjectRelation("holding", "camera"),)}),
    ("the person using a camera", {"objects": (ObjectRelation("holding", "camera"),)}),
    ("the person looking at the camera", {"cues": (Cue("facing", "camera"),)}),
    ("the person in front of the camera", {"unsupported": ("in front of the camera",)}),
    ("the person holding hands", {"unsupported": ("holding hands",)}),  # people with people: not an object
    ("the person next to the woman in red", {"people": [("near", {"colours": (C("any", "red"),), "traits": WOMAN})]}),
    # --- pose and motion ----------------------------------------------------------------------
    ("the man kneeling", {"cues": (Cue("posture", "kneeling"),), "traits": MAN}),
    ("the people crouching", {"plural": True, "cues": (Cue("posture", "crouching"),)}),
    ("a boy squatting down", {"cues": (Cue("posture", "crouching"),), "traits": BOY}),
    ("the female tennis players", {"plural": True, "traits": (G("female"),),
                                   "objects": (ObjectRelation("holding", "tennis racket"),)}),
    ("people sitting", {"plural": True, "cues": (Cue("posture", "sitting"),)}),
    ("people in the stands", {"plural": True, "unsupported": ("in the stands",)}),  # a place, not standing
    ("the man who stands on the left", {"traits": MAN, "cues": (Cue("posture", "standing"),),
                                        "positions": (Position(L),)}),
    ("the seated person", {"cues": (Cue("posture", "sitting"),)}),
    ("a person lying on the ground", {"cues": (Cue("posture", "lying"),)}),
    ("people standing on the left in red", {"cues": (Cue("posture", "standing"),), "positions": (Position(L),),
                                            "colours": (C("any", "red"),)}),
    ("people who are not sitting", {"cues": (Cue("posture", "sitting", negated=True),)}),
    ("the person with both arms raised", {"cues": (Cue("arms_raised", "both"),)}),
    ("the person raising both hands", {"cues": (Cue("arms_raised", "both"),)}),
    ("the person with arms up", {"cues": (Cue("arms_raised", "both"),)}),
    ("the person raising one hand", {"cues": (Cue("arms_raised", "one"),)}),
    ("the person with one arm up", {"cues": (Cue("arms_raised", "one"),)}),
    ("the girl raising her hand", {"cues": (Cue("arms_raised", "any"),), "traits": GIRL}),
    ("a man with a raised hand", {"cues": (Cue("arms_raised", "any"),), "traits": MAN}),
    ("people with their hands in the air", {"plural": True, "cues": (Cue("arms_raised", "both"),)}),
    ("the person with her hand over her mouth", {"cues": (Cue("hand_at_face", "yes"),)}),
    ("someone touching his face", {"cues": (Cue("hand_at_face", "yes"),)}),
    ("the person with arms crossed", {"cues": (Cue("arms_crossed", "yes"),)}),
    ("people with folded arms", {"plural": True, "cues": (Cue("arms_crossed", "yes"),)}),
    ("people whose arms are not crossed", {"plural": True, "cues": (Cue("arms_crossed", "no"),)}),
    ("the person without crossed arms", {"cues": (Cue("arms_crossed", "yes", negated=True),)}),
    ("the person facing the camera", {"cues": (Cue("facing", "camera"),)}),
    ("the person looking at the camera", {"cues": (Cue("facing", "camera"),)}),
    ("the person facing away from the camera", {"cues": (Cue("facing", "away"),)}),
    ("the person with his back to the camera", {"cues": (Cue("facing", "away"),)}),
    ("the person facing left", {"cues": (Cue("facing", "left"),)}),
    ("people walking to the right", {"cues": (Cue("horizontal", "right"),)}),
    ("people walking from left to right", {"cues": (Cue("horizontal", "right"),)}),
    ("the person moving to the left", {"cues": (Cue("horizontal", "left"),)}),
    ("the person walking towards the camera", {"cues": (Cue("depth", "towards"),)}),
    ("people walking away", {"cues": (Cue("depth", "away"),)}),
    ("the person standing still", {"cues": (Cue("moving", "still"),)}),
    ("the person not moving", {"cues": (Cue("moving", "still"),)}),
    ("the woman on the left who is sitting", {"cues": (Cue("posture", "sitting"),), "positions": (Position(L),),
                                              "traits": WOMAN}),
    # --- who a person is: gender, age, expression ----------------------------------------------
    ("the man on the left", {"positions": (Position(L),), "traits": MAN, "plural": False}),
    ("the women in red", {"plural": True, "colours": (C("any", "red"),), "traits": WOMAN}),
    ("a boy", {"traits": BOY}),
    ("girls", {"plural": True, "traits": GIRL}),
    ("the lady", {"traits": WOMAN}),
    ("the gentleman in a black suit", {"traits": MAN, "colours": (C("any", "black"),)}),
    ("the guy on the right", {"traits": MAN, "positions": (Position(R),)}),
    ("the child", {"traits": (A("baby", "child"),)}),
    ("kids", {"plural": True, "traits": (A("baby", "child"),)}),
    ("the baby", {"traits": (A("baby"),)}),
    ("a toddler", {"traits": (A("baby"),)}),
    ("the teenager", {"traits": (A("teenager"),)}),
    ("adults", {"plural": True, "traits": (Trait("age", GROWN),)}),
    ("the male person", {"traits": (G("male"),)}),
    ("females", {"plural": True, "traits": (G("female"),)}),
    ("the old man in the red jacket on the left", {"traits": (G("male"), A("senior")), "colours": (C("upper", "red"),),
                                                   "positions": (Position(L),)}),
    ("the elderly woman", {"traits": (G("female"), A("senior"))}),
    ("a young woman", {"traits": (G("female"), A("young adult"))}),
    ("young people", {"plural": True, "traits": (A("teenager", "young adult"),)}),
    ("the old person", {"traits": (A("senior"),)}),
    ("the two men sitting", {"plural": True, "count": 2, "traits": MAN, "cues": (Cue("posture", "sitting"),)}),
    ("the second woman from the left", {"traits": WOMAN, "positions": (Position(L, 2),)}),
    ("the man holding a cup", {"traits": MAN, "objects": (ObjectRelation("holding", "cup"),)}),
    ("the child wearing a tie", {"traits": (A("baby", "child"),), "objects": (ObjectRelation("wearing", "tie"),)}),
    ("the person who is smiling", {"traits": (E("happy"),)}),
    ("women who are not smiling", {"plural": True, "traits": (*WOMAN, E("happy", negated=True))}),
    ("the laughing boy", {"traits": (*BOY, E("happy"))}),
    ("the man with a smile", {"traits": (*MAN, E("happy"))}),
    ("the frowning man", {"traits": (*MAN, E("angry", "sad", "disgust"))}),
    ("the surprised woman", {"traits": (*WOMAN, E("surprise"))}),
    ("a shocked child", {"traits": (A("baby", "child"), E("surprise"))}),
    ("the sad girl", {"traits": (*GIRL, E("sad"))}),
    ("the angry man on the right", {"traits": (*MAN, E("angry")), "positions": (Position(R),)}),
    ("people with a neutral expression", {"plural": True, "traits": (E("neutral"),)}),
    ("the woman with a straight face", {"traits": (*WOMAN, E("neutral"))}),
    ("male players", {"plural": True, "traits": (G("male"),), "unsupported": ("players",)}),
    ("the woman holding a baby", {"traits": WOMAN, "people": [("holding", {"traits": (A("baby"),)})]}),
    ("the small person", {"unsupported": ("small",)}),  # size is not age
    # --- people named by the thing they use ------------------------------------------------------
    ("the batter", {"objects": (ObjectRelation("holding", "baseball bat"),)}),
    ("the skier on the left", {"objects": (ObjectRelation("standing_on", "skis"),), "positions": (Position(L),)}),
    ("cyclists", {"plural": True, "objects": (ObjectRelation("riding", "bicycle"),)}),
    ("the tennis player in blue shorts", {"objects": (ObjectRelation("holding", "tennis racket"),),
                                          "colours": (C("lower", "blue"),)}),
    ("the snowboarder", {"objects": (ObjectRelation("standing_on", "snowboard"),)}),
    ("the man behind the batter", {"traits": MAN,
                                   "people": [("behind", {"objects": (ObjectRelation("holding", "baseball bat"),)})]}),
]


def check(parsed, expected: dict) -> None:
    for key, value in expected.items():
        if key == "people":
            assert len(parsed.people) == len(value), parsed.people
            for relation, (name, *anchors) in zip(parsed.people, value):
                assert relation.relation == name and len(relation.anchors) == len(anchors), relation
                for anchor, expected_anchor in zip(relation.anchors, anchors):
                    check(anchor, expected_anchor)
        else:
            assert getattr(parsed, key) == value, (key, getattr(parsed, key), value)
    if "unsupported" not in expected:
        assert parsed.unsupported == ()


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 100


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_parse(text: str, expected: dict) -> None:
    check(parse(text, GALLERY), expected)


def test_ignoring_unsupported_keeps_the_rest() -> None:
    parsed = parse("the player in red on the left holding a bag").without_unsupported()
    assert parsed.understood and parsed.ignored == ("player",)
    assert parsed.objects == (ObjectRelation("holding", "bag"),)
    assert parsed.colours == (C("any", "red"),) and parsed.positions == (Position(L),)
