"""The expression grammar on a table of phrasings: what it understands and what it refuses."""

from __future__ import annotations

import pytest

from refcli.refer.grammar import Position, parse

L, R, M, T, B = "left", "right", "middle", "top", "bottom"

CASES: list[tuple[str, bool, tuple[Position, ...], tuple[str, ...]]] = [
    # generic subjects
    ("person", False, (), ()),
    ("a person", False, (), ()),
    ("the person", False, (), ()),
    ("people", True, (), ()),
    ("persons", True, (), ()),
    ("everyone", True, (), ()),
    ("everybody", True, (), ()),
    ("all people", True, (), ()),
    ("find all the people", True, (), ()),
    ("show me everyone in the picture", True, (), ()),
    ("Please find every person in this image.", True, (), ()),
    ("every person on the left", True, (Position(L),), ()),
    ("each person at the right", True, (Position(R),), ()),
    ("humans", True, (), ()),
    ("someone", False, (), ()),
    # extremes
    ("the leftmost person", False, (Position(L, 1),), ()),
    ("leftmost", False, (Position(L, 1),), ()),
    ("the right-most one", False, (Position(R, 1),), ()),
    ("Rightmost person", False, (Position(R, 1),), ()),
    ("the person on the far left", False, (Position(L, 1),), ()),
    ("person at the very right of the frame", False, (Position(R, 1),), ()),
    ("the person furthest to the right", False, (Position(R, 1),), ()),
    ("the topmost person", False, (Position(T, 1),), ()),
    # regions
    ("the person on the right", False, (Position(R),), ()),
    ("people on the left", True, (Position(L),), ()),
    ("all people on the right hand side", True, (Position(R),), ()),
    ("the person on the left side of the image", False, (Position(L),), ()),
    ("the left person", False, (Position(L),), ()),
    ("the left-hand person", False, (Position(L),), ()),
    ("the person in the middle", False, (Position(M),), ()),
    ("person in the centre of the photo", False, (Position(M),), ()),
    ("the middle person", False, (Position(M),), ()),
    ("who is on the left", False, (Position(L),), ()),
    ("people at the bottom of the picture", True, (Position(B),), ()),
    # ordinals
    ("the second person from the left", False, (Position(L, 2),), ()),
    ("third from the right", False, (Position(R, 3),), ()),
    ("the 2nd person from the right side of the photo", False, (Position(R, 2),), ()),
    ("first person from left", False, (Position(L, 1),), ()),
    ("the fourth one from the left", False, (Position(L, 4),), ()),
    ("the second person counting from the right", False, (Position(R, 2),), ()),
    # unsupported parts are reported, never dropped
    ("person in red", False, (), ("in red",)),
    ("the man on the left", False, (Position(L),), ("man",)),
    ("red car", False, (), ("red car",)),
    ("the person holding a microphone", False, (), ("holding a microphone",)),
    ("the person at the top of the stairs", False, (Position(T),), ("of the stairs",)),
    ("people wearing hats on the right", True, (Position(R),), ("wearing hats",)),
    ("Barack Obama", False, (), ("barack obama",)),
]


@pytest.mark.parametrize(("text", "plural", "positions", "unsupported"), CASES, ids=[c[0] for c in CASES])
def test_parse(text: str, plural: bool, positions: tuple[Position, ...], unsupported: tuple[str, ...]) -> None:
    parsed = parse(text)
    assert parsed.plural is plural
    assert parsed.positions == positions
    assert parsed.unsupported == unsupported
