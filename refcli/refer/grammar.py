"""A grammar for referring expressions, written for the embedded referrer and tested on a table.

It turns "the two people on the left in red jackets" into constraints that can be checked
against boxes and measured features: subject and number, count, ordinals and positions,
nearness, clothing colours (with negation and conjunction), named people from the user's
gallery, and "next to" another described person. Words it does not understand are returned
as unsupported phrases; callers then reject (or, when asked, answer the rest).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache

from refcli.features.colors import COLOURS, SYNONYMS
from refcli.refer.relations import WORN_ON

NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
           "ten": 10, "both": 2, "pair": 2, "couple": 2}
ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "seventh": 7, "7th": 7, "eighth": 8, "8th": 8,
    "ninth": 9, "9th": 9, "tenth": 10, "10th": 10,
}
SINGULAR_SUBJECTS = {"person", "human", "individual", "one", "someone", "somebody", "figure", "pedestrian"}
PLURAL_SUBJECTS = {"people", "persons", "humans", "individuals", "ones", "figures", "pedestrians"}
EVERYONE = {"everyone", "everybody", "anyone", "anybody"}
QUANTIFIERS = {"all", "every", "each", "any"}
SIDES = {"left": "left", "right": "right", "top": "top", "bottom": "bottom", "middle": "middle",
         "center": "middle", "central": "middle"}
UPPER_GARMENTS = {"shirt", "shirts", "tshirt", "tshirts", "top", "tops", "jacket", "jackets", "coat", "coats",
                  "sweater", "sweaters", "jumper", "jumpers", "hoodie", "hoodies", "blouse", "blouses", "vest",
                  "vests", "jersey", "jerseys", "cardigan", "cardigans", "blazer", "blazers", "sweatshirt",
                  "sweatshirts", "parka", "parkas", "polo", "tee", "tank", "upper", "torso"}
LOWER_GARMENTS = {"trousers", "pants", "jeans", "shorts", "skirt", "skirts", "leggings", "slacks", "bottoms",
                  "lower", "legs"}
WHOLE_GARMENTS = {"dress", "dresses", "suit", "suits", "uniform", "uniforms", "clothes", "clothing", "outfit",
                  "outfits", "overalls", "costume", "costumes"}
SHADES = {"dark": "black", "light": "white"}

AGE_BANDS = ("baby", "child", "teenager", "young adult", "adult", "senior")
"""Age bands a face's estimated age falls in (refcli.features.face_traits: under 3, 3-12, 13-19,
20-34, 35-59, 60 and over)."""
GROWN = frozenset({"young adult", "adult", "senior"})
MINOR = frozenset({"baby", "child", "teenager"})
_SENIOR, _YOUNG = frozenset({"senior"}), frozenset({"teenager", "young adult"})

PERSON_NOUNS: dict[str, tuple[str | None, frozenset[str] | None]] = {
    **dict.fromkeys(("man", "men", "gentleman", "gentlemen", "guy", "guys"), ("male", GROWN)),
    **dict.fromkeys(("woman", "women", "lady", "ladies"), ("female", GROWN)),
    **dict.fromkeys(("boy", "boys"), ("male", MINOR)),
    **dict.fromkeys(("girl", "girls"), ("female", MINOR)),
    **dict.fromkeys(("male", "males"), ("male", None)),
    **dict.fromkeys(("female", "females"), ("female", None)),
    **dict.fromkeys(("child", "children", "kid", "kids"), (None, frozenset({"baby", "child"}))),
    **dict.fromkeys(("baby", "babies", "toddler", "toddlers", "infant", "infants"), (None, frozenset({"baby"}))),
    **dict.fromkeys(("teenager", "teenagers", "teen", "teens", "adolescent", "adolescents"),
                    (None, frozenset({"teenager"}))),
    **dict.fromkeys(("adult", "adults"), (None, GROWN)),
}
"""Nouns for people that say a gender and an age band: a man is a male adult, a boy a male child."""
ROLES_BY_THING: dict[str, tuple[str, str]] = {
    **dict.fromkeys(("batter", "batters", "hitter", "hitters"), ("holding", "baseball bat")),
    **dict.fromkeys(("tennis player", "tennis players"), ("holding", "tennis racket")),
    **dict.fromkeys(("snowboarder", "snowboarders"), ("standing_on", "snowboard")),
    **dict.fromkeys(("skier", "skiers"), ("standing_on", "skis")),
    **dict.fromkeys(("skateboarder", "skateboarders"), ("standing_on", "skateboard")),
    **dict.fromkeys(("surfer", "surfers"), ("standing_on", "surfboard")),
    **dict.fromkeys(("cyclist", "cyclists", "bicyclist", "bicyclists", "biker", "bikers"), ("riding", "bicycle")),
    **dict.fromkeys(("motorcyclist", "motorcyclists", "motorbiker", "motorbikers"), ("riding", "motorcycle")),
    **dict.fromkeys(("horse rider", "horse riders", "horseman", "horsemen", "jockey", "jockeys"), ("riding", "horse")),
}
"""People named by the thing they use: a batter is a person holding a baseball bat, a snowboarder
one standing on a snowboard; judged like "the person holding a baseball bat"."""
UNJUDGED_ROLES = ("player|players|athlete|athletes|teammate|teammates|worker|workers|officer|officers|soldier|"
                  "soldiers|umpire|umpires|referee|"
                  "referees|catcher|catchers|pitcher|pitchers|goalkeeper|goalkeepers|goalie|goalies|coach|coaches|"
                  "waiter|waiters|waitress|waitresses|chef|chefs|cook|cooks|nurse|nurses|doctor|doctors|"
                  "policeman|policemen|policewoman|policewomen|guard|guards|vendor|vendors|spectator|spectators|"
                  "fan|fans|audience|crowd|staff|customer|customers|teacher|teachers|student|students|"
                  "driver|drivers|photographer|photographers|bride|brides|groom|grooms")
"""Nouns for people by what they do that nothing here can see (a model backend could): reported as
unsupported, but known to be people, so that "between the batter and the catcher" is about two
people."""
_NEAR_WORDS = (r"(?:(?:who|that)\s+(?:is|are)\s+)?(?:(?:standing|walking|sitting)\s+)?(?:next\s+to|beside|besides|"
               r"alongside|by\s+the\s+side\s+of|close\s+to|near)")
"""Words for being beside someone or something ("standing next to", "near")."""
PERSON_RELATIONS: list[tuple[str, str]] = [
    (_NEAR_WORDS, "near"),
    (r"(?:(?:standing|walking|sitting|hiding)\s+)?behind", "behind"),
    (r"(?:(?:standing|walking|sitting)\s+)?in\s+front\s+of", "in_front_of"),
    (r"(?:talking|speaking|chatting|conversing|arguing)\s+(?:to|with)|in\s+conversation\s+with", "talking_to"),
    (r"(?:looking|staring|gazing|glancing|smiling)\s+at|watching", "looking_at"),
    (r"hugging|embracing|cuddling|kissing|(?:holding|shaking)\s+hands\s+with|hand\s+in\s+hand\s+with|"
     r"arm\s+in\s+arm\s+with", "touching"),
    (r"holding|carrying", "holding"),
    (r"(?:(?:standing|walking|sitting)\s+)?between", "between"),
]
"""Relations between two people, as (words, relation); what follows the words is the other
person, described like any subject ("behind the man in red", "talking to a woman")."""
AGE_ADJECTIVES = {"old": _SENIOR, "older": _SENIOR, "elderly": _SENIOR, "aged": _SENIOR, "senior": _SENIOR,
                  "young": _YOUNG, "younger": _YOUNG, "little": frozenset({"baby", "child"}),
                  "middle aged": frozenset({"adult"})}
"""Adjectives before a person noun that narrow its age ("the old man", "a young woman")."""
EXPRESSIONS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("smiling", "smiles", "smile", "laughing", "laughs", "laugh", "grinning", "happy", "cheerful",
                     "joyful"), frozenset({"happy"})),
    **dict.fromkeys(("sad", "crying", "upset", "unhappy", "tearful"), frozenset({"sad"})),
    **dict.fromkeys(("angry", "mad", "furious", "annoyed", "scowling"), frozenset({"angry"})),
    **dict.fromkeys(("frowning", "frowns", "frown"), frozenset({"angry", "sad", "disgust"})),
    **dict.fromkeys(("surprised", "shocked", "astonished", "amazed"), frozenset({"surprise"})),
    **dict.fromkeys(("scared", "afraid", "frightened", "fearful"), frozenset({"fear"})),
    **dict.fromkeys(("disgusted",), frozenset({"disgust"})),
    **dict.fromkeys(("neutral", "expressionless", "serious"), frozenset({"neutral"})),
}
"""Words for a facial expression, as the expression classes of the face model."""

_COLOUR_WORDS = sorted(set(COLOURS) | set(SYNONYMS) | set(SHADES), key=len, reverse=True)
_COLOUR_WORD_SET = set(_COLOUR_WORDS)
_GARMENT_WORDS = UPPER_GARMENTS | LOWER_GARMENTS | WHOLE_GARMENTS
_GARMENTS = sorted(UPPER_GARMENTS | LOWER_GARMENTS | WHOLE_GARMENTS, key=len, reverse=True)
_ORD = "|".join(sorted(ORDINALS, key=len, reverse=True))
_NUM = "|".join(sorted(NUMBERS, key=len, reverse=True)) + r"|\d+"
_NOUN = r"(?:person|people|one|ones|human|humans|individual|individuals|figure|figures|pedestrian|pedestrians)"
_SIDE = r"(?P<side>left|right|top|bottom)"
_SCENE = r"(?:image|picture|photo|photograph|frame|scene|video|shot|clip|footage|view|screen)"
_COLOUR = "|".join(_COLOUR_WORDS)
_GARMENT = "|".join(_GARMENTS)

_LEADING_WORDS = ["please", "can you", "could you", "find", "show", "show me", "give me", "detect", "locate",
                  "search for", "look for", "where is", "where are", "who is", "who are", "select", "get",
                  "highlight", "mark", "point to", "point out"]
_LEADING = re.compile(r"^(?:(?:{})\s+)+".format("|".join(sorted(_LEADING_WORDS, key=len, reverse=True))))
_SCENE_PHRASE = re.compile(rf"\b(?:in|of|from|within|across|inside|on)\s+(?:the|this|that|each|every|a)\s+{_SCENE}s?\b")
_SCENE_SIDE_OF = re.compile(rf"\bof\s+(?:the|this)\s+{_SCENE}\b")

_NEXT_TO = re.compile(rf"\b{_NEAR_WORDS}\s+(?P<anchor>.+)$")
_ORDINAL_FROM = re.compile(
    rf"\b(?:the\s+)?(?P<ord>{_ORD})\s+(?:(?P<noun>{_NOUN})\s+)?(?:(?:counting|starting|counted)\s+)?"
    rf"(?:from|on|at)\s+(?:the\s+)?{_SIDE}(?:\s+(?:side|edge|end))?\b")
_EXTREME = re.compile(
    r"\b(?:(?:the\s+)?(?P<side1>left|right|top|bottom)most|(?:on|at|to)\s+(?:the\s+)?(?:far|very|extreme)\s+"
    r"(?P<side2>left|right|top|bottom)(?:\s+(?:side|edge|end))?|(?:furthest|farthest)\s+(?:to\s+the\s+)?"
    r"(?P<side3>left|right))\b")
_CORNER = re.compile(
    r"\b(?:(?:in|at|on|to|towards|toward)\s+(?:the\s+)?(?P<v>top|bottom|upper|lower)[\s-]+(?P<h>left|right)"
    r"(?:\s+(?:hand\s+)?(?:corner|side|part|quarter))?|(?P<v2>top|bottom|upper|lower)[\s-]+(?P<h2>left|right)\s+corner)\b")
_REGION = re.compile(
    r"\b(?:on|at|to|in|towards|toward)\s+(?:the\s+)?(?P<side>left|right|top|bottom|middle|center)"
    r"(?:\s+(?:hand\s+side|side|edge|part|half|end))?\b")
_ADJECTIVE = re.compile(rf"\b(?P<side>left|right|middle|center|central|top|bottom)\s+(?=(?:{_NOUN})\b)")
_NEAR = re.compile(
    r"\b(?:(?P<near>nearest|closest)(?:\s+(?:to|from)\s+(?:the\s+)?(?:camera|viewer|us))?"
    r"|(?P<far>farthest|furthest)(?:\s+(?:away\s+)?(?:from\s+(?:the\s+)?(?:camera|viewer|us))?|\s+away)?"
    r"|(?P<far_away>far\s+away)(?:\s+from\s+(?:the\s+)?(?:camera|viewer|us))?"
    r"|in\s+the\s+(?P<front>front|foreground)|in\s+the\s+(?P<back>back|background|distance)"
    r"|(?P<big>biggest|largest)|(?P<small>smallest))\b")
_COUNT = re.compile(rf"\b(?:the\s+)?(?P<n>{_NUM})\s+(?=(?:{_NOUN}|{_COLOUR}|leftmost|rightmost|nearest|closest|"
                    rf"farthest|furthest)\b)")
_CLAUSE = re.compile(
    rf"\b(?P<neg>not\s+|n't\s+|without\s+|no\s+)?(?:(?:is\s+|are\s+)?(?:wearing|dressed\s+in|clothed\s+in|in|with|"
    rf"has|having|wears|wear)\s+)?(?:(?:a|an|the)\s+)?"
    rf"(?P<cols>(?:{_COLOUR})(?:(?:\s*,\s*|\s+and\s+|\s+or\s+|\s+)(?:{_COLOUR}))*)"
    rf"(?:\s+(?P<garment>{_GARMENT}))?\b")
_NOT = r"(?P<neg>\bnot\s+|\bwithout\s+|\bisn't\s+|\baren't\s+|\bwho\s+is\s+not\s+|\bwho\s+are\s+not\s+)?"
_PRONOUN = r"(?:his|her|their|the|a|an)"
# (pattern, cue name, value); each may be negated by a "not" right before it.
_CUE_PATTERNS: list[tuple[str, str, str]] = [
    # motion first: "walking to the right" must not become a position
    (r"(?:walking|moving|going|heading|running)\s+(?:to\s+the\s+|towards\s+the\s+|toward\s+the\s+)?right"
     r"(?:\s+side)?|(?:walking|moving|going)\s+from\s+(?:the\s+)?left\s+to\s+(?:the\s+)?right", "horizontal", "right"),
    (r"(?:walking|moving|going|heading|running)\s+(?:to\s+the\s+|towards\s+the\s+|toward\s+the\s+)?left"
     r"(?:\s+side)?|(?:walking|moving|going)\s+from\s+(?:the\s+)?right\s+to\s+(?:the\s+)?left", "horizontal", "left"),
    (r"(?:walking|moving|coming|heading)\s+(?:towards|toward)\s+(?:the\s+)?(?:camera|viewer|us)", "depth", "towards"),
    (r"(?:walking|moving|going|heading)\s+away(?:\s+from\s+(?:the\s+)?(?:camera|viewer|us))?", "depth", "away"),
    (r"(?:standing|staying)\s+still|not\s+moving|motionless|stationary", "moving", "still"),
    (r"(?:walking|moving|running)", "moving", "moving"),
    (r"(?:is\s+|are\s+)?(?:sitting|seated|sits|sit)(?:\s+down)?", "posture", "sitting"),
    # "the stands" (of a stadium) is a place, not a posture
    (r"(?<!\bthe\s)(?:is\s+|are\s+)?(?:standing|stands|stand)(?:\s+up)?", "posture", "standing"),
    (rf"(?:is\s+|are\s+)?(?:kneeling|kneels|kneel|on\s+{_PRONOUN}\s+knees)", "posture", "kneeling"),
    (r"(?:is\s+|are\s+)?(?:crouching|crouched|crouches|crouch|squatting|squatted|squats|squat)(?:\s+down)?",
     "posture", "crouching"),
    (r"(?:is\s+|are\s+)?(?:lying|laying|lies|lie)(?:\s+down)?(?:\s+on\s+the\s+(?:ground|floor))?", "posture",
     "lying"),
    (rf"(?:with\s+)?(?:a\s+|{_PRONOUN}\s+)?hands?\s+(?:over|on|at|near|to|covering)\s+{_PRONOUN}\s+"
     r"(?:mouth|face|chin|cheek|ear)|touching\s+(?:his|her|their)\s+face|covering\s+(?:his|her|their)\s+"
     r"(?:mouth|face)", "hand_at_face", "yes"),
    (r"(?:whose\s+|with\s+(?:his|her|their)\s+)?arms\s+(?:are\s+|is\s+)?not\s+(?:crossed|folded)", "arms_crossed",
     "no"),
    (rf"(?:with\s+)?(?:{_PRONOUN}\s+)?(?:arms|hands)\s+(?:crossed|folded)|(?:crossing|folding)\s+{_PRONOUN}?\s*arms"
     r"|(?:with\s+)?(?:crossed|folded)\s+arms", "arms_crossed", "yes"),
    (rf"(?:raising|raises|holding\s+up)\s+both\s+(?:{_PRONOUN}\s+)?(?:arms|hands)|with\s+both\s+"
     rf"(?:{_PRONOUN}\s+)?(?:arms|hands)\s+(?:raised|up|in\s+the\s+air)", "arms_raised", "both"),
    (rf"(?:with\s+)?(?:{_PRONOUN}\s+)?(?:arms|hands)\s+(?:raised|up|in\s+the\s+air)|(?:raising|raises)\s+"
     rf"(?:{_PRONOUN}\s+)?(?:arms|hands)", "arms_raised", "both"),
    (r"(?:raising|raises|holding\s+up)\s+(?:only\s+)?one\s+(?:arm|hand)|(?:with\s+)?(?:only\s+)?one\s+"
     r"(?:arm|hand)\s+(?:raised|up|in\s+the\s+air)", "arms_raised", "one"),
    # "raising a hand": one or both
    (rf"(?:raising|raises|holding\s+up)\s+(?:a\s+|{_PRONOUN}\s+)?(?:arm|hand)|(?:with\s+)?(?:a\s+|{_PRONOUN}\s+)?"
     r"(?:arm|hand)\s+(?:raised|up|in\s+the\s+air)|with\s+a\s+raised\s+(?:arm|hand)", "arms_raised", "any"),
    (r"(?:facing|looking\s+at|looking\s+into|turned\s+towards?)\s+(?:the\s+)?(?:camera|viewer|us|lens)",
     "facing", "camera"),
    (r"facing\s+away(?:\s+from\s+(?:the\s+)?(?:camera|viewer|us))?|with\s+(?:his|her|their)\s+backs?\s+to\s+"
     r"(?:the\s+)?(?:camera|viewer|us)|(?:seen\s+)?from\s+behind", "facing", "away"),
    (r"facing\s+(?:to\s+the\s+)?left", "facing", "left"),
    (r"facing\s+(?:to\s+the\s+)?right", "facing", "right"),
]
_CUES = [(re.compile(rf"{_NOT}\b(?:{pattern})\b"), name, value) for pattern, name, value in _CUE_PATTERNS]

# People with things: a relation verb and an object phrase to ground ("holding a microphone").
_VIEWER = r"camera|viewer|us|lens"
"""Words that mean whoever took the picture after "looking at" or "in front of", but a thing in
the picture after "holding" ("holding a camera")."""
_NOT_OBJECT_WORDS = (r"left|right|top|bottom|middle|center|viewer|us|lens|side|far|front|back|backs|background|"
                     r"foreground|ground|floor|distance|arm|arms|hand|hands|head|face|eyes|leg|legs|feet|foot|knee|"
                     r"knees|mouth|hair|chin|cheek|ear|ears|lap|own|each|other|one|person|people|man|woman|men|women|"
                     r"someone|everyone|the|a|an|his|her|their|its|some|away|raised|folded|crossed|both|anything|"
                     r"something|nothing|things|stuff")
_OBJECT_STOP = (r"(?:and|or|but|who|that|which|while|on|in|at|with|without|next|near|beside|behind|holding|"
                r"wearing|sitting|standing|walking|lying|is|are|to|from|by|not)\b")
_DETERMINER = r"(?:(?:a|an|the|his|her|their|its|some|one|two|a\s+pair\s+of|pair\s+of)\s+)?"


def _object_pattern(viewer_is_object: bool) -> str:
    not_object = rf"(?:{_NOT_OBJECT_WORDS}{'' if viewer_is_object else '|' + _VIEWER})\b"
    return (rf"{_DETERMINER}(?P<obj>(?!{not_object})[a-z][a-z'-]*"
            rf"(?:\s+(?!{_OBJECT_STOP})(?!{not_object})[a-z][a-z'-]*){{0,2}})(?!\s+{not_object})")


_OBJECT = _object_pattern(viewer_is_object=False)
_RELATION_VERBS: list[tuple[str, str]] = [
    (r"(?:holding(?:\s+up)?|holds|carrying|carries|using|uses|playing|plays|grabbing|gripping|pushing|pulling)",
     "holding"),
    (r"(?:wearing|wears|has\s+on|have\s+on)", "wearing"),
    (r"(?:sitting|seated|sits|sit)\s+(?:on|in|upon)", "sitting_on"),
    (r"(?:sitting|seated|sits|sit)\s+at", "sitting_at"),
    (r"(?:standing|stands|stand)\s+(?:on|upon)", "standing_on"),
    (r"(?:lying|laying|lies|lie)\s+(?:on|in|upon)", "lying_on"),
    (r"(?:riding|rides|ride)", "riding"),
    (r"on(?:\s+top\s+of)?|upon", "on"),
    (r"(?:(?:standing|walking|sitting|hiding)\s+)?behind", "behind"),
    (r"(?:(?:standing|walking|sitting)\s+)?in\s+front\s+of", "in_front_of"),
    (r"(?:looking|staring|gazing|glancing|pointing)\s+at|watching|facing", "looking_at"),
    (r"(?P<without>without)|with", "with"),
    (r"in", "wearing_in"),  # "in a red tie": only for things worn (a garment is a colour clause)
]
_VIEWER_RELATIONS = {"behind", "in_front_of", "looking_at"}
_SAME_AS = re.compile(r"\b(?:who\s+is\s+|that\s+is\s+)?(?:the\s+)?same\s+(?:person|one|man|woman|people)\s+as\b")
_CALLED_ON = {"phone", "phones", "telephone", "cellphone", "mobile", "smartphone"}
_RELATIONS = [(re.compile(rf"{_NOT}\b(?:is\s+|are\s+)?(?:{verb})\s+"
                          rf"{_object_pattern(viewer_is_object=name not in _VIEWER_RELATIONS)}\b"), name)
              for verb, name in _RELATION_VERBS]
_WHOLE_OBJECT = re.compile(rf"^\s*{_OBJECT}\s*$")

_PERSON_NOUN = "|".join(sorted(PERSON_NOUNS, key=len, reverse=True))
_ROLE_BY_THING = re.compile(r"\b(?P<role>{})\b".format("|".join(sorted(ROLES_BY_THING, key=len, reverse=True))))
_AGE_ADJECTIVE = "|".join(sorted(AGE_ADJECTIVES, key=len, reverse=True))
_PERSON = re.compile(rf"\b(?:(?P<adj>{_AGE_ADJECTIVE})\s+)?(?P<noun>{_PERSON_NOUN})\b")
_AGED_SUBJECT = re.compile(rf"\b(?P<adj>{_AGE_ADJECTIVE})\s+(?=(?:{_NOUN})\b)")
"""An age adjective before a plain subject: "the old person", "young people"."""
_ROLES = re.compile(rf"\b(?:{UNJUDGED_ROLES})\b")
"""Nouns for people by what they do: not judged (a model backend could), so unsupported."""
_GENDER = re.compile(rf"\b(?:{_PERSON_NOUN})\b|{_ROLES.pattern}|{_ROLE_BY_THING.pattern}")
"""Any noun for a person other than "person": it makes a "next to ..." anchor a person."""
_PERSON_WORDS = (rf"(?:{_PERSON_NOUN}|{UNJUDGED_ROLES}|{'|'.join(ROLES_BY_THING)}|"
                 r"person|people|persons|someone|somebody|anyone|anybody|everyone|everybody|individual|"
                 r"individuals|pedestrian|pedestrians|figure|figures|ones?)")
_ANCHOR_START = (r"^(?:(?:the|a|an|another|other|some|his|her|their|this|that|these|those|any|" + _NUM + r")\s+)*"
                 r"(?:(?!(?:who|that|which|where|with|without|in|on|of|at|and|or|but|holding|wearing|near|"
                 r"behind|next)\b)[a-z'-]+\s+){0,3}?")
_PERSON_ANCHOR = re.compile(_ANCHOR_START + rf"{_PERSON_WORDS}\b")
"""The start of a description of someone: "the man in red", "a tall woman", "the two batters"."""
_HELD_PERSON = re.compile(_ANCHOR_START + rf"(?:{_PERSON_NOUN})\b")
"""Someone held or hugged is named by a noun for a person ("holding a baby"), never "one"."""
_PERSON_RELATIONS = [(re.compile(rf"\b(?:is\s+|are\s+)?(?:{words})\s+"), name) for words, name in PERSON_RELATIONS]
_EXPRESSION_WORD = "|".join(sorted(EXPRESSIONS, key=len, reverse=True))
_EXPRESSION = re.compile(
    rf"{_NOT}\b(?:(?:is|are|who\s+is|who\s+are|looking|looks|look|with)\s+)?(?:an?\s+)?"
    rf"(?:(?P<word>{_EXPRESSION_WORD})(?:\s+(?:expression|expressions|face|faces|look))?"
    rf"|(?P<straight>straight|blank)\s+face)\b")

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_DROP = {"the", "a", "an", "some", "of", "who", "that", "is", "are", "there", "please", "in", "on", "at", "to",
         "and", "with"}


@dataclass(frozen=True)
class Position:
    """Where in the frame: side of the image, and optionally a rank counted from that side.

    rank=1 is the extreme (leftmost); rank=None is a region ("people on the left"). A corner is
    a vertical and a horizontal side ("top right").
    """

    side: str
    rank: int | None = None


@dataclass(frozen=True)
class ColourClause:
    """Colours worn on a body part. ``part`` is upper, lower or any; ``colours`` must all be
    present (``any_of``: at least one); ``negated`` inverts it ("not wearing red")."""

    part: str
    colours: tuple[str, ...]
    any_of: bool = False
    negated: bool = False


@dataclass(frozen=True)
class Cue:
    """A pose or motion cue: ``name`` (posture, arms_raised, ..., direction) must have ``value``
    (or must not, when ``negated``)."""

    name: str
    value: str
    negated: bool = False


@dataclass(frozen=True)
class Trait:
    """Something a face shows: ``name`` (gender, age, expression) must take one of ``values`` (or
    none of them, when ``negated``); a trait the face model could not see never matches."""

    name: str
    values: frozenset[str]
    negated: bool = False


@dataclass(frozen=True)
class ObjectRelation:
    """The person stands in ``relation`` (the keys of refcli.refer.relations.JUDGES) to a thing an object
    grounder finds for ``object`` ("microphone", "red umbrella"), or must not, when ``negated``."""

    relation: str
    object: str
    negated: bool = False
    text: str = field(default="", compare=False)  # as the user wrote it: "holding a microphone"


@dataclass(frozen=True)
class PersonRelation:
    """The person stands in ``relation`` to someone ``anchors`` describes ("behind the man in
    red"); "between" has two anchors, one a side ("between the batter and the catcher"), or one
    that describes both ("between the two women")."""

    relation: str
    anchors: tuple[ParsedExpression, ...]
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class ParsedExpression:
    text: str
    plural: bool
    positions: tuple[Position, ...] = ()
    unsupported: tuple[str, ...] = ()
    count: int | None = None
    size: str | None = None  # "near" | "far"
    colours: tuple[ColourClause, ...] = ()
    names: tuple[str, ...] = ()
    people: tuple[PersonRelation, ...] = ()
    ignored: tuple[str, ...] = field(default=())
    cues: tuple[Cue, ...] = ()
    objects: tuple[ObjectRelation, ...] = ()
    traits: tuple[Trait, ...] = ()

    @property
    def anchors(self) -> tuple[ParsedExpression, ...]:
        """The other people this expression is about ("the woman" in "the man next to the woman")."""
        return tuple(a for relation in self.people for a in relation.anchors)

    @property
    def understood(self) -> bool:
        return not self.unsupported and all(a.understood for a in self.anchors)

    def all_unsupported(self) -> tuple[str, ...]:
        inner = [p for a in self.anchors for p in a.all_unsupported()]
        return tuple(dict.fromkeys(self.unsupported + tuple(inner)))

    def all_objects(self) -> tuple[ObjectRelation, ...]:
        """The things named here and in the description of anyone else it mentions."""
        return tuple(dict.fromkeys(self.objects + tuple(o for a in self.anchors for o in a.all_objects())))

    def keeping_objects(self, keep: Callable[[ObjectRelation], bool]) -> ParsedExpression:
        """The same constraints with only the relations to things that ``keep`` accepts, here and
        in the descriptions of the other people."""
        people = tuple(replace(r, anchors=tuple(a.keeping_objects(keep) for a in r.anchors)) for r in self.people)
        return replace(self, objects=tuple(o for o in self.objects if keep(o)), people=people)

    def without_unsupported(self) -> ParsedExpression:
        """The same constraints with the unjudgeable phrases dropped (--ignore-unsupported)."""
        people = tuple(replace(r, anchors=tuple(a.without_unsupported() for a in r.anchors)) for r in self.people)
        return replace(self, unsupported=(), people=people, ignored=self.all_unsupported())


def normalize(text: str) -> str:
    text = re.sub(r"\bt[\s-]shirt", "tshirt", text.lower().replace("’", "'"))
    text = re.sub(r"\b(left|right|top|bottom)[\s-]+most\b", r"\1most", text)
    text = re.sub(r"\bcentre\b", "center", text)
    text = re.sub(r"\b(left|right)[\s-]hand\b", r"\1", text)
    text = re.sub(r"\b(dark|light)[\s-](?=[a-z])", r"\1 ", text)
    return " ".join(_WORD.findall(text))


def normal_name(name: str) -> str:
    """A name as the grammar reads it in an expression (lower case, words only)."""
    return " ".join(_WORD.findall(name.lower()))


def says_something(expression: str) -> bool:
    """Whether the expression names anything at all: "", "the" and "!!!" do not (and must not be
    read as "everyone"); "person" or "someone in red" do."""
    words = _LEADING.sub("", normalize(expression)).split()
    return any(word not in _DROP for word in words)


@lru_cache(maxsize=2048)
def parse(expression: str, names: tuple[str, ...] = ()) -> ParsedExpression:
    """Parse an expression; ``names`` are the people in the user's face gallery."""
    return _parse(normalize(expression), expression, tuple(sorted({normal_name(n) for n in names}, key=len,
                                                                     reverse=True)))


def _parse(text: str, original: str, names: tuple[str, ...]) -> ParsedExpression:
    text = _LEADING.sub("", text)
    text = _SCENE_PHRASE.sub(" ", text)
    text = _SCENE_SIDE_OF.sub(" ", text)
    objects: list[ObjectRelation] = []
    people: list[PersonRelation] = []
    found = _person_relation(text, names)
    if found is not None:
        start, relation_name, anchors = found
        people.append(PersonRelation(relation_name, tuple(_parse(a, a, names) for a in anchors),
                                     text[start:].strip()))
        text = text[:start]
    elif (relation := _NEXT_TO.search(text)) is not None:
        thing = _WHOLE_OBJECT.match(relation.group("anchor"))
        if thing is not None:
            objects.append(ObjectRelation("near", thing.group("obj"), text=relation.group(0).strip()))
        else:  # neither a person nor a thing: whatever it says is reported
            people.append(PersonRelation("near", (_parse(relation.group("anchor"), relation.group("anchor"), names),),
                                         relation.group(0).strip()))
        text = text[:relation.start()]
    found_names = []
    for name in names:
        if re.search(rf"\b{re.escape(name)}\b", text):
            found_names.append(name)
            text = re.sub(rf"\b{re.escape(name)}\b", " ", text)
    if found_names:  # "the man in red who is the same person as Ada": only the name says who
        text = _SAME_AS.sub(" ", text)

    text, objects, plural_noun = _roles(text, objects)
    text, traits, plural_person = _people_nouns(text)
    plural_noun = plural_noun or plural_person
    positions: list[Position] = []
    state: dict[str, object] = {}

    def take(pattern: re.Pattern[str], make: Callable[[re.Match[str]], None], keep: str = "") -> None:
        nonlocal text
        while (match := pattern.search(text)) is not None:
            make(match)
            kept = match.groupdict().get(keep) if keep else None
            text = f"{text[:match.start()]} {kept or ''} {text[match.end():]}"

    def take_objects(pattern: re.Pattern[str], make: Callable[[re.Match[str]], None], worn: bool = False) -> None:
        """Like take, but a garment ("wearing a red jacket") is left for the colour clauses, and
        with ``worn`` only something worn is taken ("in a tie", not "in a car")."""
        nonlocal text
        start = 0
        while (match := pattern.search(text, start)) is not None:
            words = match.group("obj").split()
            worn_only = worn and not _worn_thing(words[-1])
            if words[-1] in _GARMENT_WORDS or all(w in _COLOUR_WORD_SET for w in words) or worn_only:
                start = match.end()
                continue
            make(match)
            text = f"{text[:match.start()]} {text[match.end():]}"

    def expression(m: re.Match[str]) -> None:
        values = EXPRESSIONS[m.group("word")] if m.group("word") else frozenset({"neutral"})
        traits.append(Trait("expression", values, bool(m.group("neg"))))

    take(_EXPRESSION, expression)  # before the relations: "with a smile" is no thing to ground
    cues: list[Cue] = []
    for pattern, rel in _RELATIONS:
        def add_relation(m: re.Match[str], rel: str = rel) -> None:
            negated = bool(m.group("neg")) or bool(m.groupdict().get("without"))
            said = m.group(0).strip()
            if rel == "sitting_at":  # "sitting at the table": seated, beside it
                cues.append(Cue("posture", "sitting"))
                objects.append(ObjectRelation("near", m.group("obj"), negated, said))
            elif rel == "wearing_in" or (rel == "on" and m.group("obj").split()[-1] in _CALLED_ON):
                # "in a red tie" is worn; "on the phone" is a phone held
                objects.append(ObjectRelation("wearing" if rel == "wearing_in" else "holding", m.group("obj"),
                                              negated, said))
            else:
                objects.append(ObjectRelation(rel, m.group("obj"), negated, said))
        take_objects(pattern, add_relation, worn=rel == "wearing_in")
    for pattern, cue_name, value in _CUES:
        def add_cue(m: re.Match[str], cue_name: str = cue_name, value: str = value) -> None:
            negated = bool(m.group("neg"))
            if cue_name == "moving" and value == "still" and "not moving" in m.group(0):
                negated = False  # "not moving" is itself the "still" cue
            cues.append(Cue(cue_name, value, negated))
        take(pattern, add_cue)
    take(_ORDINAL_FROM, lambda m: positions.append(Position(m.group("side"), ORDINALS[m.group("ord")])), "noun")
    take(_EXTREME, lambda m: positions.append(Position(m.group("side1") or m.group("side2") or m.group("side3"), 1)))
    take(_CORNER, lambda m: positions.append(Position(_corner(m))))
    take(_REGION, lambda m: positions.append(Position(SIDES[m.group("side")])))
    take(_ADJECTIVE, lambda m: positions.append(Position(SIDES[m.group("side")])))

    def size(m: re.Match[str]) -> None:
        state["size"] = "near" if (m.group("near") or m.group("front") or m.group("big")) else "far"

    take(_NEAR, size)

    def count(m: re.Match[str]) -> None:
        word = m.group("n")
        state["count"] = int(word) if word.isdigit() else NUMBERS[word]

    take(_COUNT, count)
    clauses: list[ColourClause] = []
    take(_CLAUSE, lambda m: clauses.append(_clause(m)))
    genders: list[str] = []
    take(_ROLES, lambda m: genders.append(m.group(0)))

    words = text.split()
    plural = bool(state.get("count", 1) != 1)
    unsupported: list[str] = list(dict.fromkeys(genders))
    run: list[str] = []

    def close_run() -> None:
        if any(w not in _DROP for w in run):
            phrase = " ".join(_trim(run))
            if phrase and phrase not in unsupported:
                unsupported.append(phrase)
        run.clear()

    for word in words:
        if word in SINGULAR_SUBJECTS or word in PLURAL_SUBJECTS or word in EVERYONE:
            plural = plural or word in PLURAL_SUBJECTS or word in EVERYONE
            close_run()
        elif word in QUANTIFIERS:
            plural = True
            close_run()
        else:
            run.append(word)
    close_run()
    if plural_noun or any(g.endswith(("men", "s", "ren", "ies")) and g not in ("boss",) for g in genders):
        plural = True
    return ParsedExpression(original, plural, tuple(positions), tuple(unsupported), state.get("count"),  # type: ignore[arg-type]
                            state.get("size"), tuple(clauses), tuple(found_names), tuple(people),  # type: ignore[arg-type]
                            cues=tuple(cues), objects=tuple(objects), traits=tuple(dict.fromkeys(traits)))


def _person_relation(text: str, names: tuple[str, ...]) -> tuple[int, str, list[str]] | None:
    """The first relation to another person in the text: where it starts, its name and the
    descriptions of the other people (two for "between the batter and the catcher")."""
    matches = sorted(((m, name) for pattern, name in _PERSON_RELATIONS for m in pattern.finditer(text)),
                     key=lambda found: found[0].start())
    for match, name in matches:
        rest = text[match.end():].strip()
        if not _names_person(rest, names, held=name in ("holding", "touching")):
            continue
        if name == "between":
            parts = rest.split(" and ", 1)
            if len(parts) == 2 and all(_names_person(p, names, held=False) for p in parts):
                return match.start(), name, parts
        return match.start(), name, [rest]
    return None


def _names_person(phrase: str, names: tuple[str, ...], held: bool) -> bool:
    """Whether a phrase starts by describing someone ("the woman in red", "Ada Lovelace")."""
    if any(re.match(rf"^(?:the\s+)?{re.escape(n)}\b", phrase) for n in names):
        return True
    return bool((_HELD_PERSON if held else _PERSON_ANCHOR).match(phrase))


def _roles(text: str, objects: list[ObjectRelation]) -> tuple[str, list[ObjectRelation], bool]:
    """A subject named by the thing they use ("the snowboarder") becomes a plain subject and
    their relation to that thing. Only the subject: a role after another noun for a
    person is someone else. Returns the text, the relations and whether the noun was plural."""
    before_ok = {"male", "female", "males", "females"}  # adjectives here: "female tennis players"
    subjects = SINGULAR_SUBJECTS | PLURAL_SUBJECTS | EVERYONE | (set(PERSON_NOUNS) - before_ok)

    def is_subject(match: re.Match[str]) -> bool:
        return not subjects & set(text[:match.start()].split())

    role = _ROLE_BY_THING.search(text)
    if role is not None and is_subject(role):
        noun = role.group("role")
        used, tool = ROLES_BY_THING[noun]
        many = noun.endswith(("s", "men"))
        text = f"{text[:role.start()]} {'people' if many else 'person'} {text[role.end():]}"
        return text, [*objects, ObjectRelation(used, tool, text=noun)], many
    return text, objects, False


def _people_nouns(text: str) -> tuple[str, list[Trait], bool]:
    """The noun that says who the subject is ("the old man", "girls", "young people") becomes the
    traits it says and a plain subject ("person", "people"), so that counts, ordinals and positions
    read it like any subject ("the two men" is "the two people" who are men). Returns the text, the
    traits and whether the noun was plural."""
    traits: list[Trait] = []
    plural = False

    def person(m: re.Match[str]) -> str:
        nonlocal plural
        noun = m.group("noun")
        gender, ages = PERSON_NOUNS[noun]
        if m.group("adj"):
            narrowed = AGE_ADJECTIVES[m.group("adj")]
            ages = narrowed if ages is None else (ages & narrowed or ages)
        if gender is not None:
            traits.append(Trait("gender", frozenset({gender})))
        if ages is not None:
            traits.append(Trait("age", ages))
        many = noun.endswith(("men", "s", "ren", "ies"))
        plural = plural or many
        return "people" if many else "person"

    def aged(m: re.Match[str]) -> str:
        traits.append(Trait("age", AGE_ADJECTIVES[m.group("adj")]))
        return ""

    # the first such noun is the subject; a later one is someone else ("the woman holding a
    # baby", "the man talking to a girl"): left in place, it is reported, never added to the subject
    text = _PERSON.sub(person, text, count=1)
    text = _AGED_SUBJECT.sub(aged, text, count=1)
    return text, traits, plural


def _clause(m: re.Match[str]) -> ColourClause:
    words = re.split(r"\s*,\s*|\s+", m.group("cols"))
    any_of = " or " in f" {m.group('cols')} "
    colours: list[str] = []
    for word in words:
        if word in ("and", "or", ""):
            continue
        if word in SHADES:
            continue  # "dark blue" is blue; a bare "dark" is handled below
        colours.append(word if word in COLOURS else SYNONYMS[word])
    if not colours:  # only a shade: "dark trousers", "light shirt"
        colours = [SHADES[w] for w in words if w in SHADES][:1]
    garment = m.group("garment")
    part = "upper" if garment in UPPER_GARMENTS else "lower" if garment in LOWER_GARMENTS else "any"
    return ColourClause(part, tuple(dict.fromkeys(colours)), any_of, bool(m.group("neg")))


def _worn_thing(noun: str) -> bool:
    """Whether a noun names something worn that is not a garment (a tie, a cap, glasses)."""
    return any(noun in nouns or noun.rstrip("s") in nouns for nouns in WORN_ON.values())


def _corner(m: re.Match[str]) -> str:
    vertical = m.group("v") or m.group("v2")
    return f"{'top' if vertical in ('top', 'upper') else 'bottom'} {m.group('h') or m.group('h2')}"


def _trim(words: list[str]) -> list[str]:
    """Drop filler at the ends of an unsupported run so the report reads well ("holding a bag")."""
    start, end = 0, len(words)
    while start < end and words[start] in {"the", "a", "an", "who", "that", "is", "are", "and"}:
        start += 1
    while end > start and words[end - 1] in _DROP:
        end -= 1
    return words[start:end]
