"""Pieces of one person's track joined again: the tracker loses a person who is hidden for longer
than it waits (refcli.track.LOST_SECONDS) or walks out and back, and starts a new track for them.

A piece that ends is joined to a piece that starts within ``MAX_GAP`` seconds after it when the
second starts where the first was heading (its feet within a reach that grows with the gap),
at about the same size (depth), dressed alike (the clothing histograms of
refcli.features.appearance: colour names are too coarse, two dark coats share them), and no
better pair claims either. Without appearances on both pieces nothing is joined: where a person
went is not enough to say who came back. Pure: it sees the tracks of one video and answers which
pieces make one person. Worked out while the video is indexed (refcli.track keeps a ``brief`` of
each track) and kept on its media row; refcli.query.moments joins the hits.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from refcli.features.appearance import similarity

if TYPE_CHECKING:
    from refcli.store import Store

# What these decide is stored by `refcli index` (the media row's joins): changing one changes
# what indexing stores, so bump the pipeline revision (refcli.index.plan) with it.
MAX_GAP = 3.0
"""Seconds between the end of a piece and the start of the next that may still be one person."""
REACH = 0.5
"""How far off the predicted spot (person heights) the next piece may start, plus REACH per
second of gap."""
MAX_SPEED = 1.5
"""Person heights per second that a walker's last motion is extrapolated with, at most."""
SAME_CLOTHES = 0.85
"""Dressed alike: the clothing histograms' similarity, upper and lower body both
(refcli.features.appearance.similarity)."""


@dataclass(frozen=True)
class Piece:
    """One stored track, as much of it as joining needs."""

    track: int
    times: Sequence[float]
    boxes: Sequence[float]  # 4 per sample, displayed pixels
    appearance: Sequence[float] | np.ndarray | None
    samples: Sequence[int] = ()
    scores: Sequence[float] = ()

    @property
    def start(self) -> float:
        return self.times[0]

    @property
    def end(self) -> float:
        return self.times[-1]

    def feet(self, k: int) -> tuple[float, float, float]:
        """(x, y, height) of sample ``k`` (negative counts from the end): where it stands."""
        x1, y1, x2, y2 = self.boxes[4 * (k % len(self.times)):4 * (k % len(self.times)) + 4]
        return (x1 + x2) / 2, y2, max(1.0, y2 - y1)

    def velocity(self) -> tuple[float, float]:
        """Feet motion per second over the last second of the piece (0 for a single sample)."""
        last = len(self.times) - 1
        first = last
        while first > 0 and self.times[last] - self.times[first - 1] <= 1.0:
            first -= 1
        span = self.times[last] - self.times[first]
        if span <= 0:
            return 0.0, 0.0
        (x0, y0, _), (x1, y1, h) = self.feet(first), self.feet(last)
        vx, vy = (x1 - x0) / span, (y1 - y0) / span
        speed = float(np.hypot(vx, vy))
        cap = MAX_SPEED * h
        return (vx * cap / speed, vy * cap / speed) if speed > cap else (vx, vy)


def alike(a: Piece, b: Piece) -> float | None:
    """How alike two pieces are dressed (0..1), None when either's appearance is unknown."""
    if a.appearance is None or b.appearance is None:
        return None
    return similarity(a.appearance, b.appearance)


def join_cost(a: Piece, b: Piece) -> float | None:
    """How well ``b`` continues ``a`` (lower is better), or None when it cannot."""
    gap = b.start - a.end
    if not 0 < gap <= MAX_GAP:
        return None
    ax, ay, ah = a.feet(-1)
    bx, by, bh = b.feet(0)
    if not 0.67 <= bh / ah <= 1.5:
        return None  # a different depth: someone else
    vx, vy = a.velocity()
    height = (ah + bh) / 2
    off = float(np.hypot(bx - (ax + vx * gap), by - (ay + vy * gap))) / height
    if off > REACH * (1 + gap):
        return None
    clothes = alike(a, b)
    if clothes is None or clothes < SAME_CLOTHES:
        return None
    return off / (1 + gap) + (1 - clothes)


def chains(pieces: Sequence[Piece]) -> dict[int, int]:
    """Which piece continues which (track -> the next track of the same person). The
    best-fitting pairs are joined first; a piece continues at most one other, and is continued
    by at most one."""
    ordered = sorted(pieces, key=lambda p: (p.start, p.track))
    starts = [p.start for p in ordered]
    pairs = []
    for a in ordered:  # only pieces that start within MAX_GAP after a ends
        for b in ordered[bisect_right(starts, a.end):bisect_right(starts, a.end + MAX_GAP)]:
            cost = join_cost(a, b)
            if cost is not None:
                pairs.append((cost, a.track, b.track))
    after: dict[int, int] = {}
    before: set[int] = set()
    for _cost, first, then in sorted(pairs):
        if first not in after and then not in before:
            after[first] = then
            before.add(then)
    return after


def same_person(chains_after: dict[int, int], tracks: set[int]) -> set[int]:
    """Every track joined (forwards or backwards) to one of ``tracks``."""
    before = {b: a for a, b in chains_after.items()}
    out = set(tracks)
    for track in tracks:
        for step in (chains_after, before):
            t = track
            while t in step:
                t = step[t]
                out.add(t)
    return out


def brief(row: Mapping[str, Any]) -> Piece | None:
    """As much of a video track row as joining reads (its first sample, its last second and its
    appearance), to keep while the rest of the video is indexed; None for a photo's."""
    times = row["times"]
    if not times or any(t is None for t in times):
        return None
    keep = [0] + [k for k in range(1, len(times)) if times[-1] - times[k] <= 1.0]
    appearance = row.get("appearance")
    return Piece(row["track"], [times[k] for k in keep],
                 [v for k in keep for v in row["boxes"][4 * k:4 * k + 4]],
                 None if appearance is None else np.asarray(appearance, np.float32))


def flat(after: dict[int, int]) -> list[int]:
    """``chains``' answer as stored on a media row: (track, next) pairs, flat."""
    return [v for pair in sorted(after.items()) for v in pair]


def pieces_of(store: Store, content_id: str, generation: int) -> list[Piece]:
    """The stored tracks of one video generation, with their appearances where stored."""
    out = []
    for track, row in store.contents.tracks(content_id, generation).items():
        times = row["times"]
        if not times or any(t is None for t in times):
            continue
        out.append(Piece(track, times, row["boxes"], row.get("appearance"), row["samples"], row["scores"]))
    return out
