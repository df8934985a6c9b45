"""Person-object relations judged from geometry: the person's box, their body keypoints when
pose was estimated, and the boxes an object grounder found for the object phrase.

Each judge answers True, False or None (cannot tell: the body parts it needs are not seen, or
the head faces the camera for "looking at"); None never matches, negated or not. Distances are
in units of the person's box height, so the rules hold for near and far people alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

Box = Sequence[float]
Point = tuple[float, float]

# What body part a worn thing sits on (the last word of the object phrase, singular or plural).
WORN_ON = {
    "head": {"hat", "cap", "helmet", "hood", "beanie", "crown", "headband", "headphones", "headset", "turban",
             "wig", "veil", "glasses", "sunglasses", "goggles", "spectacles", "mask", "earrings", "headscarf"},
    "torso": {"tie", "scarf", "necklace", "backpack", "bag", "handbag", "purse", "satchel", "vest", "badge",
              "lanyard", "medal", "apron", "camera", "guitar", "rucksack", "sash", "bib"},
    "wrist": {"watch", "bracelet", "glove", "gloves", "wristband"},
    "feet": {"shoes", "shoe", "boots", "boot", "sneakers", "sandals", "skates", "slippers", "heels", "socks"},
}


@dataclass(frozen=True)
class Body:
    """Where a person's parts are, from their box and (when seen) keypoints in image pixels."""

    box: tuple[float, float, float, float]
    keypoints: Mapping[str, Point]

    @property
    def height(self) -> float:
        return max(1.0, self.box[3] - self.box[1])

    @property
    def width(self) -> float:
        return max(1.0, self.box[2] - self.box[0])

    def point(self, name: str) -> Point | None:
        return self.keypoints.get(name)

    def wrists(self) -> list[Point]:
        return [p for p in (self.point("left_wrist"), self.point("right_wrist")) if p is not None]

    def hip_y(self) -> float:
        hips = [p[1] for p in (self.point("left_hip"), self.point("right_hip")) if p is not None]
        return sum(hips) / len(hips) if hips else self.box[1] + 0.55 * self.height

    def region(self, part: str) -> tuple[float, float, float, float]:
        """A body part as a box: from keypoints when seen, else fixed fractions of the person box."""
        x1, y1, x2, y2 = self.box
        h = self.height
        shoulders = [p for p in (self.point("left_shoulder"), self.point("right_shoulder")) if p is not None]
        top_of_torso = min(p[1] for p in shoulders) if shoulders else y1 + 0.18 * h
        if part == "head":
            return x1, y1 - 0.05 * h, x2, top_of_torso + 0.03 * h
        if part == "upper":
            return x1, top_of_torso, x2, self.hip_y()
        if part == "torso":
            return x1, top_of_torso - 0.05 * h, x2, self.hip_y() + 0.1 * h
        if part == "feet":
            return x1, y2 - 0.15 * h, x2, y2 + 0.03 * h
        if part == "wrist":
            wrists = self.wrists()
            if wrists:
                r = 0.08 * h
                return (min(p[0] for p in wrists) - r, min(p[1] for p in wrists) - r,
                        max(p[0] for p in wrists) + r, max(p[1] for p in wrists) + r)
            return x1, y1 + 0.35 * h, x2, y1 + 0.65 * h
        return x1, y1, x2, y2


def area(b: Box) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def intersection(a: Box, b: Box) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def inside_share(thing: Box, container: Box) -> float:
    """The share of ``thing``'s area that lies inside ``container``."""
    return intersection(thing, container) / area(thing) if area(thing) > 0 else 0.0


def x_overlap(a: Box, b: Box) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0]))


def y_overlap(a: Box, b: Box) -> float:
    return max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def grow(b: Box, dx: float, dy: float | None = None) -> tuple[float, float, float, float]:
    dy = dx if dy is None else dy
    return b[0] - dx, b[1] - dy, b[2] + dx, b[3] + dy


def centre(b: Box) -> Point:
    return (b[0] + b[2]) / 2, (b[1] + b[3]) / 2


def contains(b: Box, p: Point) -> bool:
    return b[0] <= p[0] <= b[2] and b[1] <= p[1] <= b[3]


def holding(body: Body, thing: Box, phrase: str = "") -> bool | None:
    """A wrist at (or within 0.12 person heights of) the object; without visible wrists, the object
    on the upper body and mostly over the person."""
    wrists = body.wrists()
    if wrists:
        reach = 0.12 * body.height
        return any(contains(grow(thing, reach), w) for w in wrists)
    upper = grow(body.region("upper"), 0.25 * body.width, 0.05 * body.height)
    small_enough = area(thing) <= 1.5 * area(body.region("upper"))
    return contains(upper, centre(thing)) and inside_share(thing, grow(body.box, 0.25 * body.width, 0)) >= 0.5 \
        and small_enough


def wearing(body: Body, thing: Box, phrase: str = "") -> bool | None:
    """Mostly inside the (slightly grown) person box, centred on the body part the thing is worn on."""
    noun = phrase.split()[-1] if phrase else ""
    part = next((p for p, nouns in WORN_ON.items() if noun in nouns or noun.rstrip("s") in nouns), "box")
    if inside_share(thing, grow(body.box, 0.1 * body.width, 0.05 * body.height)) < 0.6:
        return False
    return contains(grow(body.region(part), 0.1 * body.width, 0.05 * body.height), centre(thing))


def with_(body: Body, thing: Box, phrase: str = "") -> bool | None:
    """"with a bag": held or worn."""
    held, worn = holding(body, thing, phrase), wearing(body, thing, phrase)
    return True if (held or worn) else (None if held is None and worn is None else False)


def sitting_on(body: Body, thing: Box, phrase: str = "") -> bool | None:
    """The object is under the hips: it reaches up to them, extends below them, and overlaps the
    person sideways by a third of the narrower width."""
    hip = body.hip_y()
    h = body.height
    sideways = x_overlap(body.box, thing) >= 0.33 * min(body.width, thing[2] - thing[0])
    return sideways and thing[1] <= hip + 0.15 * h and thing[3] >= hip + 0.05 * h and thing[1] >= body.box[1]


def standing_on(body: Body, thing: Box, phrase: str = "") -> bool | None:
    """The feet are on the object: its span holds the feet's height, it is under them sideways,
    and it does not rise above the hips."""
    feet = body.region("feet")
    h = body.height
    under = x_overlap(feet, thing) >= 0.5 * (feet[2] - feet[0]) or x_overlap(feet, thing) >= 0.8 * (thing[2] - thing[0])
    return under and thing[1] - 0.05 * h <= body.box[3] <= thing[3] + 0.05 * h and thing[1] >= body.hip_y()


def lying_on(body: Body, thing: Box, phrase: str = "") -> bool | None:
    """A person lying (box wider than tall) whose box lies largely over the object."""
    lying = body.width >= 0.9 * body.height
    return lying and intersection(body.box, thing) >= 0.4 * area(body.box)


def near(body: Body, thing: Box, phrase: str = "") -> bool | None:
    """Beside it: at about the same depth (feet and object bottom within a quarter of the person's
    height, or overlapping heights), and at most one person width (or half a height) apart. A small
    thing the person holds is not "next to" them."""
    h = body.height
    if area(thing) < 0.25 * area(body.box) and inside_share(thing, body.box) >= 0.9:
        return False
    gap = max(0.0, max(thing[0], body.box[0]) - min(thing[2], body.box[2]))
    same_depth = abs(thing[3] - body.box[3]) <= 0.25 * h or y_overlap(thing, body.box) >= 0.3 * min(
        h, thing[3] - thing[1])
    return same_depth and gap <= max(body.width, 0.5 * h)


def behind(body: Body, thing: Box, phrase: str = "") -> bool | None:
    """The person is behind the object: they overlap sideways and in height, and the object's
    bottom is nearer the bottom of the picture (nearer the camera) than the person's feet."""
    sideways = x_overlap(body.box, thing) >= 0.2 * min(body.width, thing[2] - thing[0])
    return sideways and y_overlap(body.box, thing) > 0 and thing[3] > body.box[3] + 0.05 * body.height


def in_front_of(body: Body, thing: Box, phrase: str = "") -> bool | None:
    """The person is in front of the object: overlapping, with their feet nearer the camera."""
    sideways = x_overlap(body.box, thing) >= 0.2 * min(body.width, thing[2] - thing[0])
    return sideways and y_overlap(body.box, thing) > 0 and body.box[3] > thing[3] + 0.05 * body.height


def looking_at(body: Body, thing: Box, phrase: str = "") -> bool | None:
    """The head turns towards the object: the nose sits off the ears' midpoint towards its side.
    Unknown without nose and ears, and for a face turned to the camera (direction unclear)."""
    nose = body.point("nose")
    ears = [p for p in (body.point("left_ear"), body.point("right_ear")) if p is not None]
    if nose is None or not ears:
        return None
    mid = sum(p[0] for p in ears) / len(ears)
    span = abs(ears[0][0] - ears[1][0]) if len(ears) == 2 else 0.08 * body.height
    turn = (nose[0] - mid) / max(span, 1e-6)
    if len(ears) == 2 and abs(turn) < 0.15:
        return None  # facing the camera: which way the eyes look cannot be told
    side = centre(thing)[0] - nose[0]
    far = abs(side) > 4 * body.height
    return (side > 0) == (turn > 0) and not far


def on(body: Body, thing: Box, phrase: str = "") -> bool | None:
    """"On a snowboard", "on the bench", "on a horse": standing, sitting or lying on it."""
    answers = [judge(body, thing, phrase) for judge in (standing_on, sitting_on, lying_on)]
    return True if any(answers) else (None if None in answers else False)


JUDGES: dict[str, Callable[[Body, Box, str], bool | None]] = {
    "holding": holding, "with": with_, "wearing": wearing, "sitting_on": sitting_on, "riding": sitting_on,
    "standing_on": standing_on, "lying_on": lying_on, "near": near, "behind": behind, "in_front_of": in_front_of,
    "looking_at": looking_at, "on": on,
}


CARRIED = {"holding", "with", "wearing"}
"""Relations in which a small thing belongs to one person: of two people side by side, the ball
between them is held by the one it overlaps more."""


def owned_by(things: Sequence[Box], bodies: Sequence[Body], index: int) -> list[Box]:
    """The things that person ``index`` has more claim to than anyone else in the picture: small
    things (under half the person's box) go to the person whose box holds most of them (ties: the
    nearest box centre); bigger things are shared."""
    mine = []
    for thing in things:
        if area(thing) >= 0.5 * area(bodies[index].box):
            mine.append(thing)
            continue
        cx = centre(thing)[0]
        best = max(range(len(bodies)), key=lambda j: (round(inside_share(thing, bodies[j].box), 2),
                                                       -abs(centre(bodies[j].box)[0] - cx)))
        if best == index:
            mine.append(thing)
    return mine


def relates(relation: str, body: Body, things: Sequence[Box], phrase: str = "") -> bool | None:
    """Whether the person stands in ``relation`` to any of ``things``: True if one does, False if
    every one is judged and none does (or there are none), None if none does and some could not
    be judged."""
    judge = JUDGES[relation]
    unknown = False
    for thing in things:
        answer = judge(body, thing, phrase)
        if answer:
            return True
        unknown = unknown or answer is None
    return None if unknown else False


# --- people with people ------------------------------------------------------------------------


def same_depth(a: Body, b: Body) -> bool:
    """About as far from the camera: similar heights (within a factor 1.6) and feet within a
    third of the taller one's height."""
    tall, short = max(a.height, b.height), min(a.height, b.height)
    return tall <= 1.6 * short and abs(a.box[3] - b.box[3]) <= tall / 3


def talking_to(body: Body, other: Body) -> bool | None:
    """Close together at the same depth (at most one body width apart), and, where both heads'
    directions are seen, neither turned away from the other. Closeness is what a picture shows of
    a conversation; a head turned away rules it out."""
    gap = max(0.0, max(body.box[0], other.box[0]) - min(body.box[2], other.box[2]))
    if not same_depth(body, other) or gap > max(body.width, other.width):
        return False
    return looking_at(body, other.box) is not False and looking_at(other, body.box) is not False


def touching(body: Body, other: Body) -> bool | None:
    """Hugging, holding hands: the two boxes overlap by a fifth of the smaller one, and neither
    stands far behind the other (feet within half the taller height)."""
    overlap = intersection(body.box, other.box) / max(1.0, min(area(body.box), area(other.box)))
    return overlap >= 0.2 and abs(body.box[3] - other.box[3]) <= 0.5 * max(body.height, other.height)


def between(body: Body, one: Body, other: Body) -> bool:
    """Standing between two people: the point under the person's feet lies on the way from one's
    feet to the other's (past a tenth of it from either end), at most half the person's height
    off that line. The line can run across the picture or into it."""
    feet = [((b.box[0] + b.box[2]) / 2, b.box[3]) for b in (body, one, other)]
    (px, py), (ax, ay), (bx, by) = feet
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    if length2 <= 0:
        return False
    t = ((px - ax) * dx + (py - ay) * dy) / length2
    off = abs((px - ax) * dy - (py - ay) * dx) / length2 ** 0.5
    return 0.1 <= t <= 0.9 and off <= 0.5 * body.height


PERSON_JUDGES: dict[str, Callable[[Body, Body], bool | None]] = {
    "behind": lambda body, other: behind(body, other.box),
    "in_front_of": lambda body, other: in_front_of(body, other.box),
    "looking_at": lambda body, other: looking_at(body, other.box),
    "holding": lambda body, other: holding(body, other.box) and area(other.box) < area(body.box),
    "talking_to": talking_to, "touching": touching,
}
"""Relations between two people other than "near" and "between": each judges person and other."""


def with_people(relation: str, bodies: Sequence[Body], index: int, groups: Sequence[set[int]]) -> bool:
    """Whether person ``index`` stands in ``relation`` to someone of ``groups[0]`` (for "between":
    between one of ``groups[0]`` and one of ``groups[1]``, or two of ``groups[0]``); nobody is
    related to themselves, and a relation that cannot be judged never matches."""
    others = [sorted(g - {index}) for g in groups]
    if relation == "between":
        pairs = ([(a, b) for a in others[0] for b in others[1] if a != b] if len(others) == 2 else
                 [(a, b) for n, a in enumerate(others[0]) for b in others[0][n + 1:]])
        return any(between(bodies[index], bodies[a], bodies[b]) for a, b in pairs)
    judge = PERSON_JUDGES[relation]
    return any(judge(bodies[index], bodies[other]) is True for other in others[0])
