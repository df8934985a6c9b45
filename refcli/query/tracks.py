"""Answers from the tracks table, without reading a frame.

When the stored values of a person's track decide a query alone (a name, clothing colours, face
traits: ``Referrer.per_track``), a person matches at every sample of their track or at none. Each
track is then judged once, as a one-person request, instead of once per frame with everyone
beside it; the referrer's cheap vectorised test (``TrackTerms.narrow``) first rules out, on the
stored columns, the tracks it cannot choose. A chosen track is chosen at each of its samples,
with the box and score it has there, as the frames hold them: the answer is the one the frames
give (tests/e2e/test_track_answers.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from refcli.defaults import PEOPLE_MIN_SCORE
from refcli.features import track_columns
from refcli.features.faces import FACES_COLUMN, faces_indexed, with_faces
from refcli.query.cues import MomentCues
from refcli.query.moments import Chosen, Joins, Place
from refcli.refer import ReferRequest, Referrer, ReferResult, TrackTerms
from refcli.store import Store
from refcli.store.content import matching_rows

TRACK_BATCH = 1024
"""One-person requests per referrer call."""

TrackKey = tuple[str, int, int]


@dataclass(frozen=True, slots=True)
class StoredMoment:
    """The moment a track's request is judged at (its first sample): what feature readers ask."""

    content_id: str
    generation: int
    sample: int
    time: float | None


@dataclass(frozen=True)
class TrackRequest:
    """A one-person request for a whole track, and the track's samples to answer with."""

    request: ReferRequest
    key: TrackKey
    place: Place
    samples: list[int]
    times: list[float | None]
    boxes: list[float]  # 4 per sample
    scores: list[float]

    @property
    def content_id(self) -> str:
        return self.key[0]

    def picked(self, result: ReferResult) -> list[tuple[TrackKey, list[Chosen]]]:
        """The track at every sample, when the referrer chose its person."""
        if not result.indexes:
            return []
        return [(self.key, [Chosen(sample, time, [round(float(v), 1) for v in self.boxes[4 * k:4 * k + 4]],
                                   float(score))
                            for k, (sample, time, score) in enumerate(zip(self.samples, self.times, self.scores))])]


@dataclass
class TrackPlan:
    """The tracks to judge, in batches, and what is known before judging them: with exact terms
    (``TrackTerms.exact``) the number of hits and which come first, so only the hits shown are
    judged."""

    batches: Iterator[list[TrackRequest]]
    total: int | None = None  # the answer's hits, where known without judging every track
    joins: Joins | None = None


def answers_alone(terms: TrackTerms | None, min_score: float) -> bool:
    """Whether a query's answer can come from the tracks table: its terms decide it alone, and
    only tracked people can reach ``min_score`` (boxes no track took score below the tracks' own
    floor, PEOPLE_MIN_SCORE)."""
    return terms is not None and terms.alone and min_score >= PEOPLE_MIN_SCORE


HEAVY = ["samples", "times", "boxes", "scores"]
"""Per-sample columns: read only for the tracks that are judged."""

MAX_CONTENTS_LISTED = 1000
"""Above this many contents, the tracks to judge are read in one scan, not by content id."""


def track_plan(store: Store, query: str, referrer: Referrer, terms: TrackTerms, min_score: float,
               content_ids: set[str] | None, limit: int | None) -> TrackPlan:
    """One-person requests for the current tracks that reach ``min_score`` and that
    ``terms.narrow`` does not rule out (within ``content_ids`` if given); with exact terms, only
    for the first ``limit`` hits (all when None), and the number of hits. The per-sample columns
    and the features' are read only for the tracks judged."""
    media, paths = store.contents.current()
    if content_ids is not None:
        media = media.filter(pc.is_in(media.column("content_id"), pa.array(sorted(content_ids), pa.string())))
    wants = referrer.wants(query)
    tracks = store.contents.current_tracks(media, ["track", "score", "start",
                                                   *(c for c in terms.columns if c != FACES_COLUMN)])
    if FACES_COLUMN in terms.columns and faces_indexed(store):
        tracks = with_faces(store, tracks)
    people = pc.greater_equal(tracks.column("score").cast(pa.float64()), min_score).to_numpy(zero_copy_only=False)
    keep = people & terms.narrow(tracks) if terms.narrow is not None and tracks.num_rows else people
    if people.any() and not keep.any() and not terms.exact:
        # Nobody can match; judge one person anyway, for what the referrer cannot judge here
        # (a name where no face was indexed): the frames would have said so.
        keep = np.arange(len(people)) == int(np.argmax(people))
    if not keep.all():
        tracks = tracks.filter(pa.array(keep))
    places = {cid: Place(kind, paths[cid]) for cid, kind in zip(*(media.column(n).to_pylist()
                                                                   for n in ("content_id", "kind")))}
    total, joins = None, None
    if terms.exact:
        joins = Joins(store)
        ranking = ranked_hits(tracks, places, joins)
        shown = [row for hit in ranking.first(limit) for row in hit]
        tracks, total = tracks.take(pa.array(sorted(shown), pa.int64())), ranking.total
    wanted = [c for c in (*HEAVY, *track_columns(wants)) if c not in tracks.column_names]
    tracks = _with_columns(store, media, tracks, wanted)
    if "faces" in wants and FACES_COLUMN not in tracks.column_names and faces_indexed(store):
        tracks = with_faces(store, tracks)
    return TrackPlan(_batches(store, query, wants, tracks, media, places), total, joins)


def _with_columns(store: Store, media: pa.Table, tracks: pa.Table, columns: list[str]) -> pa.Table:
    """``tracks`` with more of their columns, read for their contents only (in one scan when
    they are many)."""
    keys = ["content_id", "generation", "track"]
    if not columns:
        return tracks
    contents = pc.unique(tracks.column("content_id")).to_pylist()
    more = store.contents.current_tracks(media, ["track", *columns],
                                         contents if len(contents) <= MAX_CONTENTS_LISTED else None)
    mine, theirs = matching_rows(tracks, more, keys)
    out, taken = tracks.take(mine), more.take(theirs)
    for name in columns:
        out = out.append_column(name, taken.column(name))
    return out


@dataclass
class Ranking:
    """Hits in answer order, each as its rows of a tracks table."""

    order: npt.NDArray[np.int64]  # rows, best first; a joined hit at the row of its first piece
    members: dict[int, list[int]]  # the rows of each joined hit, by its first piece's row

    @property
    def total(self) -> int:
        return len(self.order)

    def first(self, limit: int | None) -> list[list[int]]:
        return [self.members.get(int(r), [int(r)]) for r in (self.order if limit is None else self.order[:limit])]


def ranked_hits(tracks: pa.Table, places: dict[str, Place], joins: Joins) -> Ranking:
    """The hits that these tracks, each chosen whole, make (refcli.query.moments: one per track,
    the pieces of one person joined), best first (``Hit.rank``). Vectorised but for the tracks of
    videos with joined pieces."""
    n = tracks.num_rows
    if not n:
        return Ranking(np.zeros(0, np.int64), {})
    encoded = pc.dictionary_encode(tracks.column("content_id")).combine_chunks()
    content = encoded.indices.to_numpy()
    contents = encoded.dictionary.to_pylist()
    path_rank = np.argsort(np.argsort(np.array([places[c].paths[0] for c in contents], dtype=object),
                                      kind="stable"))[content]
    raw = tracks.column("score").cast(pa.float64()).to_numpy(zero_copy_only=False)
    unique, where = np.unique(raw, return_inverse=True)
    score = np.array([round(float(v), 4) for v in unique])[where]  # as Hit.score is rounded
    start = pc.fill_null(tracks.column("start"), -1.0).to_numpy(zero_copy_only=False).astype(np.float64)
    track = tracks.column("track").to_numpy(zero_copy_only=False).astype(np.int64)
    members: dict[int, list[int]] = {}  # chain head -> its rows, for joined pieces only
    gens = tracks.column("generation").to_numpy(zero_copy_only=False)
    known, unknown = joins.stored
    firsts = np.unique(content, return_index=True)[1]  # a content's tracks share its current generation
    videos = {(contents[content[r]], int(gens[r])) for r in firsts}
    joined = {v: after for v in videos & (set(known) | unknown) if (after := joins.after(*v))}
    if joined:
        row_of = {(contents[content[r]], int(gens[r]), int(track[r])): r for r in range(n)
                  if (contents[content[r]], int(gens[r])) in joined}
        following = {row_of[(c, g, a)]: row_of[(c, g, b)] for (c, g), after in joined.items()
                     for a, b in after.items() if (c, g, a) in row_of and (c, g, b) in row_of}
        heads = set(following) - set(following.values())
        for head in heads:
            chain, row = [head], head
            while row in following:
                row = following[row]
                chain.append(row)
            best = max(chain, key=lambda r: raw[r])  # the first of equals, as moments takes it
            members[head] = chain
            score[head], track[head] = score[best], track[best]
        hidden = np.zeros(n, np.bool_)
        hidden[list(following.values())] = True
    else:
        hidden = np.zeros(n, np.bool_)
    order = np.lexsort((track, start, path_rank, -score))
    return Ranking(order[~hidden[order]], members)


def _batches(store: Store, query: str, wants: frozenset[str], tracks: pa.Table, media: pa.Table,
             places: dict[str, Place]) -> Iterator[list[TrackRequest]]:
    cues = MomentCues(store, wants, tracks)
    sizes = {cid: (w or 0, h or 0) for cid, w, h in zip(*(media.column(n).to_pylist()
                                                         for n in ("content_id", "width", "height")))}
    names = ["content_id", "generation", "track", "samples", "times", "boxes", "scores"]
    batch: list[TrackRequest] = []
    for cid, gen, track, samples, times, boxes, scores in zip(*(tracks.column(n).to_pylist() for n in names)):
        k = int(np.argmax(scores))
        request = ReferRequest(
            expression=query, boxes=np.array(boxes[4 * k:4 * k + 4], np.float32).reshape(1, 4),
            scores=np.array(scores[k:k + 1], np.float32), size=sizes[cid],
            features=[cues.at(StoredMoment(cid, gen, samples[0], times[0]), track)])
        batch.append(TrackRequest(request, (cid, gen, track), places[cid], samples, times, boxes, scores))
        if len(batch) == TRACK_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
