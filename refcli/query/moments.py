"""From chosen samples to hits: a hit is a moment, a run of consecutive samples of one track
that the referrer chose, with the box and time of its best sample."""

from __future__ import annotations

from dataclasses import dataclass

from refcli.detections import NO_TRACK
from refcli.query.frames import Frame
from refcli.query.hits import Hit
from refcli.render import hit_id
from refcli.store import Store


@dataclass
class Chosen:
    """One sample of a track that the referrer chose."""

    sample: int
    time: float | None
    box: list[float]
    score: float


def moments(store: Store, chosen: dict[tuple[str, int, int], list[Chosen]],
            frames_of: dict[str, Frame]) -> list[Hit]:
    """One hit per run of chosen samples of each (content id, generation, track); untracked boxes
    are a hit each. ``frames_of`` gives a frame of each content (its paths and kind)."""
    by_content: dict[tuple[str, int], set[int]] = {}
    for content_id, generation, track in chosen:
        if track != NO_TRACK:
            by_content.setdefault((content_id, generation), set()).add(track)
    samples_of = store.contents.track_samples(by_content)
    hits = []
    for (content_id, _generation, track), picks in chosen.items():
        frame = frames_of[content_id]
        picks.sort(key=lambda c: c.sample)
        order = samples_of.get((content_id, track))
        for run in runs(picks, order) if order else [[p] for p in picks]:
            best = max(run, key=lambda c: c.score)
            hits.append(Hit(
                path=frame.paths[0], kind=frame.kind, time=best.time, start=run[0].time, end=run[-1].time,
                box=best.box, score=round(best.score, 4), track=None if track == NO_TRACK else track,
                content_id=content_id, id=hit_id(content_id, track, best.sample), paths=frame.paths))
    return hits


def runs(picks: list[Chosen], order: list[int]) -> list[list[Chosen]]:
    """Split a track's chosen samples where the track has a sample that was not chosen."""
    position = {sample: i for i, sample in enumerate(order)}
    out: list[list[Chosen]] = []
    for pick in picks:
        if out and position.get(pick.sample, -2) == position.get(out[-1][-1].sample, -10) + 1:
            out[-1].append(pick)
        else:
            out.append([pick])
    return out
