"""From chosen samples to hits: a hit is a moment, a run of consecutive samples of one track
that the referrer chose, with the box and time of its best sample."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from refcli.detections import NO_TRACK
from refcli.query.hits import Hit
from refcli.relink import Piece, chains, pieces_of, same_person
from refcli.render import hit_id
from refcli.store import Store

StoredJoins = tuple[dict[tuple[str, int], dict[int, int]], set[tuple[str, int]]]
"""Per video generation with joined pieces, track -> the track that continues it; and the video
generations indexed before joins were stored (refcli.store.content.Current.joins)."""


class Place(NamedTuple):
    """Where a content is: its kind (image, video) and every path that holds it."""

    kind: str
    paths: list[str]


@dataclass
class Chosen:
    """One sample of a track that the referrer chose."""

    sample: int
    time: float | None
    box: list[float]
    score: float


def moments(store: Store, chosen: dict[tuple[str, int, int], list[Chosen]],
            places: dict[str, Place], whole_person: bool = False,
            samples: dict[tuple[str, int], list[int]] | None = None, joins: Joins | None = None) -> list[Hit]:
    """One hit per run of chosen samples of each (content id, generation, track); untracked boxes
    are a hit each, and in a video the runs of the pieces of one person's track are joined
    (refcli.relink). ``places`` gives each content's kind and paths; ``samples`` the samples of
    the chosen tracks ((content id, track) -> samples) and ``joins`` the joined pieces, where the
    caller has them. With ``whole_person`` (a query for the person of a hit), a chosen track
    brings every sample of the pieces joined to it, where nothing was judged of them."""
    joins = joins or Joins(store)
    if whole_person:
        chosen = joins.with_joined_pieces(chosen, places)
        samples = None  # the joined pieces' samples too
    if samples is None:
        by_content: dict[tuple[str, int], set[int]] = {}
        for content_id, generation, track in chosen:
            if track != NO_TRACK:
                by_content.setdefault((content_id, generation), set()).add(track)
        samples = store.contents.track_samples(by_content)
    hits = []
    found: dict[tuple[str, int], list[list[tuple[int, Chosen]]]] = {}
    for (content_id, generation, track), picks in chosen.items():
        picks.sort(key=lambda c: c.sample)
        order = samples.get((content_id, track))
        for picked in runs(picks, order) if order else [[p] for p in picks]:
            found.setdefault((content_id, generation), []).append([(track, c) for c in picked])
    for (content_id, generation), pieces in found.items():
        frame = places[content_id]
        if frame.kind == "video" and len(pieces) > 1:
            ends = {t: samples[(content_id, t)] for t in {t for run in pieces for t, _ in run}
                    if (content_id, t) in samples}
            pieces = rejoined(pieces, joins.after(content_id, generation), ends)
        for run in pieces:
            track, best = max(run, key=lambda tc: tc[1].score)
            hits.append(Hit(
                path=frame.paths[0], kind=frame.kind, time=best.time, start=run[0][1].time, end=run[-1][1].time,
                box=best.box, score=round(best.score, 4), track=None if track == NO_TRACK else track,
                content_id=content_id, id=hit_id(content_id, track, best.sample), paths=frame.paths))
    return hits


class Joins:
    """The joined pieces of each video of one answer (refcli.relink): as the index worked them
    out (the media rows), else worked out here once per video from its stored tracks."""

    def __init__(self, store: Store, stored: StoredJoins | None = None) -> None:
        self.store = store
        self._stored = stored
        self._of: dict[tuple[str, int], tuple[dict[int, int], dict[int, Piece]]] = {}

    def _video(self, content_id: str, generation: int) -> tuple[dict[int, int], dict[int, Piece]]:
        if (content_id, generation) not in self._of:
            pieces = pieces_of(self.store, content_id, generation)
            self._of[(content_id, generation)] = chains(pieces), {p.track: p for p in pieces}
        return self._of[(content_id, generation)]

    def after(self, content_id: str, generation: int) -> dict[int, int]:
        """Which piece of this video continues which (track -> next track)."""
        known, unknown = self.stored
        if (content_id, generation) in unknown:
            return self._video(content_id, generation)[0]
        return known.get((content_id, generation), {})

    @property
    def stored(self) -> StoredJoins:
        """What indexing stored (Current.joins): the videos with joins, and those indexed before
        joins were stored."""
        if self._stored is None:
            self._stored = self.store.contents.current().joins()
        return self._stored

    def with_joined_pieces(self, chosen: dict[tuple[str, int, int], list[Chosen]],
                           places: dict[str, Place]) -> dict[tuple[str, int, int], list[Chosen]]:
        """``chosen`` plus every sample of the video pieces joined to a chosen track."""
        out = {key: list(picks) for key, picks in chosen.items()}
        by_video: dict[tuple[str, int], set[int]] = {}
        for content_id, generation, track in chosen:
            if places[content_id].kind == "video" and track != NO_TRACK:
                by_video.setdefault((content_id, generation), set()).add(track)
        for (content_id, generation), tracks in by_video.items():
            _, pieces = self._video(content_id, generation)
            for track in same_person(self.after(content_id, generation), tracks) - tracks:
                piece = pieces[track]
                out[(content_id, generation, track)] = [
                    Chosen(sample, time, [round(float(v), 1) for v in piece.boxes[4 * k:4 * k + 4]], float(score))
                    for k, (sample, time, score) in enumerate(zip(piece.samples, piece.times, piece.scores))]
        return out


def rejoined(pieces: list[list[tuple[int, Chosen]]], after: dict[int, int],
             samples: dict[int, list[int]]) -> list[list[tuple[int, Chosen]]]:
    """Runs of one video with the pieces of one person joined (refcli.relink): a run that lasts to
    the end of its track goes on with the run that starts its next piece, if that piece's run
    starts at its first sample (someone who matched until lost, and matched again when found)."""
    ending = {run[-1][0]: i for i, run in enumerate(pieces) if run[-1][0] in samples
              and run[-1][1].sample == samples[run[-1][0]][-1]}
    starting = {run[0][0]: i for i, run in enumerate(pieces) if run[0][0] in samples
                and run[0][1].sample == samples[run[0][0]][0]}
    following = {ending[a]: starting[b] for a, b in after.items() if a in ending and b in starting
                 and ending[a] != starting[b]}
    followed = set(following.values())
    out = []
    for i in range(len(pieces)):
        if i in followed:
            continue
        run, j = list(pieces[i]), i
        while j in following:
            j = following[j]
            run.extend(pieces[j])
        out.append(run)
    return out


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
