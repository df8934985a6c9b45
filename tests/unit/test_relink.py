"""Joining the pieces of one person's track, on hand-made tracks: someone lost for a few seconds
and found where they were heading, dressed the same, is one person; a different coat, a jump
across the picture, another depth or a long gap is someone else."""

from __future__ import annotations

import numpy as np

from refcli.features.appearance import BINS
from refcli.relink import Piece, chains


def dressed(upper: int, lower: int) -> list[float]:
    """Clothing histograms: most of the upper body in one bin, most of the lower in another."""
    h = np.full(2 * BINS, 0.1 / (BINS - 1))
    h[upper], h[BINS + lower] = 0.9, 0.9
    h[:BINS] /= h[:BINS].sum()
    h[BINS:] /= h[BINS:].sum()
    return h.tolist()


RED, BLUE = dressed(3, 90), dressed(50, 97)


def walker(track: int, start: float, x0: float, speed: float = 50.0, seconds: float = 3.0, clothes=RED,
           height: float = 200.0, step: float = 0.5) -> Piece:
    """A person walking right at ``speed`` px/s from x0, feet at y=400, sampled every ``step`` s."""
    times = [start + k * step for k in range(int(seconds / step) + 1)]
    boxes = []
    for t in times:
        x = x0 + speed * (t - start)
        boxes += [x - 30, 400 - height, x + 30, 400]
    return Piece(track, times, boxes, clothes)


def test_someone_lost_and_found_where_they_were_heading_is_one_person() -> None:
    first = walker(0, 0.0, 100)  # ends at t=3, x=250
    again = walker(1, 6.0, 400)  # 3 s later, 150 px further: where a 50 px/s walk leads
    assert chains([first, again]) == {0: 1}


def test_someone_else_is_not_joined() -> None:
    first = walker(0, 0.0, 100)
    assert chains([first, walker(1, 6.0, 400, clothes=BLUE)]) == {}  # dressed differently
    assert chains([first, walker(1, 6.0, 900)]) == {}  # too far from where the walk led
    assert chains([first, walker(1, 6.0, 400, height=90)]) == {}  # another depth
    assert chains([first, walker(1, 12.0, 700)]) == {}  # lost for 9 s: too long to say
    assert chains([first, walker(1, 2.0, 200)]) == {}  # overlapping in time: two people at once
    assert chains([first, walker(1, 6.0, 400, clothes=None)]) == {}  # appearance unknown: no guess


def test_each_piece_continues_one_other_the_best_fitting_first() -> None:
    first = walker(0, 0.0, 100)
    near, far = walker(1, 5.0, 360), walker(2, 5.5, 470)  # both plausible; the first fits better
    assert chains([first, near, far]) == {0: 1}
    three = [walker(0, 0.0, 100), walker(1, 5.0, 350), walker(2, 10.0, 600)]
    assert chains(three) == {0: 1, 1: 2}  # a chain of three pieces
