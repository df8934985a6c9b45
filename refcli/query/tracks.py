"""Answers from the tracks table, without reading a frame.

When the stored values of a person's track decide a query alone (a name, clothing colours, face
traits: ``Referrer.per_track``), a person matches at every sample of their track or at none. Each
track is then judged once, as a one-person request, instead of once per frame with everyone
beside it; the referrer's cheap vectorised test (``TrackTerms.narrow``) first rules out, on the
stored columns, the tracks it cannot choose. Where that test is the referrer's choice exactly
(``TrackTerms.exact``: colours, face traits, everyone), nothing is judged: the answer is ranked
on the table and only the hits shown are built. A chosen track is chosen at each of its samples,
with the box and score it has there, as the frames hold them: the answer is the one the frames
give (tests/e2e/test_track_answers.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from refcli.defaults import PEOPLE_MIN_SCORE
from refcli.features import track_columns
from refcli.features.faces import FACES_COLUMN, faces_indexed, with_faces
from refcli.features.pose import POSES_COLUMN, with_poses
from refcli.query.cues import MomentCues
from refcli.query.hits import Hit
from refcli.query.moments import Chosen, Joins, Place
from refcli.refer import ReferRequest, Referrer, ReferResult, TrackTerms
from refcli.render import hit_id
from refcli.store import Store
from refcli.store.content import Current

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
    """The tracks to judge, in batches; or, with exact terms (``TrackTerms.exact``), the answer
    itself, worked out on the table: the number of hits and the first ``limit`` of them."""

    batches: Iterator[list[TrackRequest]]
    total: int | None = None  # the answer's hits, where known without judging every track
    joins: Joins | None = None
    hits: list[Hit] | None = None  # the answer's first hits, where known without judging


def answers_alone(terms: TrackTerms | None, min_score: float) -> bool:
    """Whether a query's answer can come from the tracks table: its terms decide it alone, and
    only tracked people can reach ``min_score`` (boxes no track took score below the tracks' own
    floor, PEOPLE_MIN_SCORE)."""
    return terms is not None and terms.alone and min_score >= PEOPLE_MIN_SCORE


HEAVY = ["samples", "times", "boxes", "scores"]
"""Per-sample columns: read only for the tracks that are judged or shown."""


def track_plan(store: Store, query: str, referrer: Referrer, terms: TrackTerms, min_score: float,
               content_ids: set[str] | None, limit: int | None) -> TrackPlan:
    """The answer, or what to judge for it, from the current tracks that reach ``min_score`` and
    that ``terms.narrow`` does not rule out (within ``content_ids`` if given). With exact terms
    the narrowing is the answer: it is ranked on the table and only its first ``limit`` hits (all
    when None) are built, nothing judged. Otherwise the tracks left are judged, one request each.
    The per-sample columns and the features' are read only for the tracks shown or judged."""
    current = store.contents.current()
    media = of_contents(current.media, content_ids)
    tracks = narrowed(store, media, terms, min_score, ["start"], one_at_least=not terms.exact)
    joins = Joins(store, current.joins())
    if terms.exact:
        ranking = ranked_hits(tracks, media, current.path_order(), joins)
        shown = ranking.first(limit)
        rows = sorted(row for hit in shown for row in hit)
        heavy = store.contents.track_rows(media, tracks.take(pa.array(rows, pa.int64())), HEAVY)
        at = {row: k for k, row in enumerate(rows)}
        hits = _hits(heavy, [[at[r] for r in hit] for hit in shown], _places(current, media, heavy))
        return TrackPlan(iter(()), ranking.total, joins, hits)
    wants = referrer.wants(query)
    tracks = store.contents.track_rows(media, tracks, [*HEAVY, *track_columns(wants)])
    if "faces" in wants and FACES_COLUMN not in tracks.column_names and faces_indexed(store):
        tracks = with_faces(store, tracks)
    return TrackPlan(_batches(store, query, wants, tracks, media, _places(current, media, tracks)), None, joins)


def of_contents(media: pa.Table, content_ids: set[str] | None) -> pa.Table:
    """The media rows of ``content_ids`` (all when None)."""
    if content_ids is None:
        return media
    return media.filter(pc.is_in(media.column("content_id"), pa.array(sorted(content_ids), pa.string())))


ATTACHED = {FACES_COLUMN: with_faces, POSES_COLUMN: with_poses}
"""Columns of track rows that come from a feature's own table, and what attaches them."""


def narrowed(store: Store, media: pa.Table, terms: TrackTerms, min_score: float, columns: Sequence[str] = (),
             one_at_least: bool = True) -> pa.Table:
    """The current tracks of ``media`` (with ``columns``, the keys, ``score`` and ``_rowid``)
    that reach ``min_score`` and that ``terms.narrow`` does not rule out. With ``one_at_least``,
    where nobody is left, one person anyway: for what the referrer cannot judge there (a name
    where no face was indexed), which it says of anyone."""
    wanted = ["track", "score", *columns, *(c for c in terms.columns if c not in ATTACHED)]
    tracks = store.contents.current_tracks(media, list(dict.fromkeys(wanted)), row_ids=True)
    for name in terms.columns:
        if name in ATTACHED and (name != FACES_COLUMN or faces_indexed(store)):
            tracks = ATTACHED[name](store, tracks)
    people = pc.greater_equal(tracks.column("score").cast(pa.float64()), min_score).to_numpy(zero_copy_only=False)
    keep = people.copy()
    if terms.narrow is not None and people.any():
        rows = np.flatnonzero(people)
        keep[rows] = terms.narrow(tracks if len(rows) == len(people) else tracks.take(pa.array(rows)))
    if one_at_least and people.any() and not keep.any():
        keep = np.arange(len(people)) == int(np.argmax(people))
    return tracks if keep.all() else tracks.filter(pa.array(keep))


def _places(current: Current, media: pa.Table, tracks: pa.Table) -> dict[str, Place]:
    """Where the contents of these tracks are."""
    paths = current.paths_of(pc.unique(tracks.column("content_id")).to_pylist())
    return {cid: Place(kind, paths[cid]) for cid, kind in zip(*(media.column(n).to_pylist()
                                                                 for n in ("content_id", "kind"))) if cid in paths}


def _hits(tracks: pa.Table, shown: list[list[int]], places: dict[str, Place]) -> list[Hit]:
    """The hits of people chosen at every sample of their tracks: per hit, its rows of
    ``tracks`` (one track, or the joined pieces of one person in order), as
    refcli.query.moments makes them of chosen samples (the box and time of the best sample, the
    first of equals), vectorised per row. Boxes and scores are rounded by numpy, as Python
    rounds them: their float32 values times a power of ten are exact in float64."""
    if not shown:
        return []
    lengths = pc.list_value_length(tracks.column("scores")).to_numpy(zero_copy_only=False).astype(np.int64)
    firsts = np.concatenate([[0], np.cumsum(lengths)[:-1]])  # every track has a sample
    scores = pc.list_flatten(tracks.column("scores")).to_numpy(zero_copy_only=False).astype(np.float64)
    of_row = np.repeat(np.arange(len(lengths)), lengths)
    top = np.maximum.reduceat(scores, firsts)
    at_top = np.flatnonzero(scores == top[of_row])
    best = at_top[np.concatenate([[True], of_row[at_top][1:] != of_row[at_top][:-1]])]  # per row
    boxes = np.round(pc.list_flatten(tracks.column("boxes")).to_numpy(zero_copy_only=False)
                     .astype(np.float64).reshape(-1, 4)[best], 1).tolist()
    rounded = np.round(top, 4).tolist()
    times = pc.list_flatten(tracks.column("times")).to_pylist()
    samples = pc.list_flatten(tracks.column("samples")).to_numpy(zero_copy_only=False)[best].tolist()
    content_ids = tracks.column("content_id").to_pylist()
    track_ids = tracks.column("track").to_pylist()
    best_at, start_at, end_at = best.tolist(), firsts.tolist(), (firsts + lengths - 1).tolist()
    hits = []
    for members in shown:
        row = members[0] if len(members) == 1 else max(members, key=lambda r: top[r])
        cid, track, place = content_ids[row], track_ids[row], places[content_ids[row]]
        hits.append(Hit(path=place.paths[0], kind=place.kind, time=times[best_at[row]],
                        start=times[start_at[members[0]]], end=times[end_at[members[-1]]], box=boxes[row],
                        score=rounded[row], track=track, content_id=cid, id=hit_id(cid, track, samples[row]),
                        paths=place.paths))
    return hits


@dataclass
class Ranking:
    """Hits in answer order, each as its rows of a tracks table."""

    order: npt.NDArray[np.int64]  # rows, best first; a joined hit at the row of its first piece
    members: dict[int, list[int]]  # the rows of each joined hit, by its first piece's row

    @property
    def total(self) -> int:
        return len(self.order)

    def first(self, limit: int | None) -> list[list[int]]:
        rows = (self.order if limit is None else self.order[:limit]).tolist()
        members = self.members
        return [members[r] if r in members else [r] for r in rows]


def ranked_hits(tracks: pa.Table, media: pa.Table, path_order: npt.NDArray[np.int64], joins: Joins) -> Ranking:
    """The hits that these tracks, each chosen whole, make (refcli.query.moments: one per track,
    the pieces of one person joined), best first (``Hit.rank``); ``path_order`` ranks the media
    rows by path (Current.path_order). Vectorised but for the tracks of videos with joined pieces."""
    n = tracks.num_rows
    if not n:
        return Ranking(np.zeros(0, np.int64), {})
    content = pc.index_in(tracks.column("generation"), value_set=media.column("generation")).to_numpy(
        zero_copy_only=False).astype(np.int64)  # the media row of each track (a generation is one content's)
    raw = tracks.column("score").cast(pa.float64()).to_numpy(zero_copy_only=False)
    unique, where = np.unique(raw, return_inverse=True)
    score = np.array([round(float(v), 4) for v in unique])[where]  # as Hit.score is rounded
    start = pc.fill_null(tracks.column("start"), -1.0).to_numpy(zero_copy_only=False).astype(np.float64)
    track = tracks.column("track").to_numpy(zero_copy_only=False).astype(np.int64)
    members: dict[int, list[int]] = {}  # chain head -> its rows, for joined pieces only
    hidden = np.zeros(n, np.bool_)
    known, unknown = joins.stored
    with_joins = set(known) | unknown
    contents, gens = media.column("content_id").to_pylist(), media.column("generation").to_pylist()
    joined = {(contents[m], gens[m]): after for m in np.unique(content).tolist()
              if (contents[m], gens[m]) in with_joins and (after := joins.after(contents[m], gens[m]))}
    if joined:
        row_of = {(contents[content[r]], gens[content[r]], int(track[r])): r for r in range(n)
                  if (contents[content[r]], gens[content[r]]) in joined}
        following = {row_of[(c, g, a)]: row_of[(c, g, b)] for (c, g), after in joined.items()
                     for a, b in after.items() if (c, g, a) in row_of and (c, g, b) in row_of}
        for head in set(following) - set(following.values()):
            chain, row = [head], head
            while row in following:
                row = following[row]
                chain.append(row)
            best = max(chain, key=lambda r: raw[r])  # the first of equals, as moments takes it
            members[head] = chain
            score[head], track[head] = score[best], track[best]
        hidden[list(following.values())] = True
    order = np.lexsort((track, start, path_order[content], -score))
    return Ranking(order[~hidden[order]], members)


def _batches(store: Store, query: str, wants: frozenset[str], tracks: pa.Table, media: pa.Table,
             places: dict[str, Place]) -> Iterator[list[TrackRequest]]:
    cues = MomentCues(store, wants, tracks)
    mine = media.filter(pc.is_in(media.column("content_id"), value_set=pc.unique(tracks.column("content_id"))))
    sizes = {cid: (w or 0, h or 0) for cid, w, h in zip(*(mine.column(n).to_pylist()
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
