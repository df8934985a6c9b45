"""A small grammar for referring expressions: subject, number and position.

It turns "the second person from the left" into constraints the embedded referrer can check
against boxes. Words it does not understand are returned as unsupported phrases; the caller
then rejects instead of guessing. Later work extends the vocabulary (attributes, counts,
relations); the contract stays: understood constraints + unsupported phrases.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "seventh": 7, "7th": 7, "eighth": 8, "8th": 8,
    "ninth": 9, "9th": 9, "tenth": 10, "10th": 10,
}
SINGULAR_SUBJECTS = {"person", "human", "individual", "one", "someone", "somebody", "figure"}
PLURAL_SUBJECTS = {"people", "persons", "humans", "individuals", "ones", "figures"}
EVERYONE = {"everyone", "everybody", "anyone", "anybody"}
QUANTIFIERS = {"all", "every", "each", "both", "any"}
SIDES = {"left": "left", "right": "right", "top": "top", "bottom": "bottom", "middle": "middle",
         "center": "middle", "central": "middle"}

_ORD = "|".join(sorted(ORDINALS, key=len, reverse=True))
_NOUN = r"(?:person|people|one|ones|human|humans|individual|individuals|figure|figures)"
_SIDE = r"(?P<side>left|right|top|bottom)"
_SCENE = r"(?:image|picture|photo|photograph|frame|scene|video|shot|clip|footage|view|screen)"

# Filler around a request ("find all the people") that carries no constraint.
_LEADING_WORDS = ["please", "can you", "could you", "find", "show", "show me", "give me", "detect", "locate",
                  "search for", "look for", "where is", "where are", "who is", "who are", "select", "get",
                  "highlight", "mark"]
_LEADING = re.compile(r"^(?:(?:{})\s+)+".format("|".join(sorted(_LEADING_WORDS, key=len, reverse=True))))
_SCENE_PHRASE = re.compile(rf"\b(?:in|of|from|within|across|inside)\s+(?:the|this|that|each|every|a)\s+{_SCENE}s?\b")
_SCENE_SIDE_OF = re.compile(rf"\bof\s+(?:the|this)\s+{_SCENE}\b")

# Position patterns, tried in order; each match becomes a Position and is removed.
_ORDINAL_FROM = re.compile(
    rf"\b(?:the\s+)?(?P<ord>{_ORD})\s+(?:(?P<noun>{_NOUN})\s+)?(?:(?:counting|starting|counted)\s+)?"
    rf"(?:from|on|at)\s+(?:the\s+)?{_SIDE}(?:\s+(?:side|edge|end))?\b")
_EXTREME = re.compile(
    r"\b(?:(?:the\s+)?(?P<side1>left|right|top|bottom)most|(?:on|at|to)\s+(?:the\s+)?(?:far|very|extreme)\s+"
    r"(?P<side2>left|right|top|bottom)(?:\s+(?:side|edge|end))?|(?:furthest|farthest)\s+(?:to\s+the\s+)?"
    r"(?P<side3>left|right))\b")
_REGION = re.compile(
    r"\b(?:on|at|to|in|towards|toward)\s+(?:the\s+)?(?P<side>left|right|top|bottom|middle|center)"
    r"(?:\s+(?:hand\s+side|side|edge|part|half|end))?\b")
_ADJECTIVE = re.compile(rf"\b(?P<side>left|right|middle|center|central|top|bottom)\s+(?=(?:{_NOUN})\b)")

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_DROP = {"the", "a", "an", "some", "of", "who", "that", "is", "are", "there",
         "please", "in", "on", "at", "to"}


@dataclass(frozen=True)
class Position:
    """Where in the frame: side of the image, and optionally a rank counted from that side.

    rank=1 is the extreme (leftmost); rank=None is a region ("people on the left").
    """

    side: str
    rank: int | None = None


@dataclass(frozen=True)
class ParsedExpression:
    text: str
    plural: bool
    positions: tuple[Position, ...]
    unsupported: tuple[str, ...]

    @property
    def understood(self) -> bool:
        return not self.unsupported


def normalize(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = re.sub(r"\b(left|right|top|bottom)[\s-]+most\b", r"\1most", text)
    text = re.sub(r"\bcentre\b", "center", text)
    text = re.sub(r"\bleft[\s-]hand\b", "left", text)
    text = re.sub(r"\bright[\s-]hand\b", "right", text)
    return " ".join(_WORD.findall(text))


@lru_cache(maxsize=1024)
def parse(expression: str) -> ParsedExpression:
    """Parse an expression into subject number, positions and unsupported phrases."""
    text = normalize(expression)
    text = _LEADING.sub("", text)
    text = _SCENE_PHRASE.sub(" ", text)
    text = _SCENE_SIDE_OF.sub(" ", text)
    positions: list[Position] = []

    def take(pattern: re.Pattern[str], make: Callable[[re.Match[str]], Position]) -> None:
        nonlocal text
        while (match := pattern.search(text)) is not None:
            positions.append(make(match))
            keep_noun = match.groupdict().get("noun") or ""
            text = f"{text[:match.start()]} {keep_noun} {text[match.end():]}"

    take(_ORDINAL_FROM, lambda m: Position(m.group("side"), ORDINALS[m.group("ord")]))
    take(_EXTREME, lambda m: Position(m.group("side1") or m.group("side2") or m.group("side3"), 1))
    take(_REGION, lambda m: Position(SIDES[m.group("side")]))
    take(_ADJECTIVE, lambda m: Position(SIDES[m.group("side")]))

    words = text.split()
    plural = False
    unsupported: list[str] = []
    run: list[str] = []

    def close_run() -> None:
        if any(w not in _DROP for w in run):
            unsupported.append(" ".join(_trim(run)))
        run.clear()

    for word in words:
        if word in SINGULAR_SUBJECTS or word in PLURAL_SUBJECTS or word in EVERYONE:
            plural = plural or word in PLURAL_SUBJECTS or word in EVERYONE
            close_run()
        elif word in QUANTIFIERS:
            plural = True  # "every person on the left" means all of them
            close_run()
        else:
            run.append(word)
    close_run()
    return ParsedExpression(expression, plural, tuple(positions), tuple(unsupported))


def _trim(words: list[str]) -> list[str]:
    """Drop filler at the ends of an unsupported run so the report reads well ("in red")."""
    start, end = 0, len(words)
    while start < end and words[start] in {"the", "a", "an", "who", "that", "is", "are"}:
        start += 1
    while end > start and words[end - 1] in _DROP:
        end -= 1
    return words[start:end]
