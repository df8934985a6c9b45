"""`refcli find`: run a referrer over the stored frames and turn its choices into hits.

A referrer judges one frame at a time; "the person on the left" may hold for part of a track
only. A hit is therefore a *moment*: a run of consecutive samples of one track that the
referrer chose, with the box and time of its best sample.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from refcli.defaults import PEOPLE_MIN_SCORE
from refcli.ground import Grounder
from refcli.people.like import only_like
from refcli.query.assembly import frame_requests
from refcli.query.cache import AnswerCache
from refcli.query.frames import FrameRequest
from refcli.query.grounding import Grounding
from refcli.query.hits import FindResult
from refcli.query.moments import Chosen, Place, moments
from refcli.query.pushdown import frames_to_read
from refcli.query.tracks import TrackPlan, TrackRequest, answers_alone, track_plan
from refcli.refer import Referrer
from refcli.store import Store


def find(store: Store, query: str, referrer: Referrer, *, min_score: float = PEOPLE_MIN_SCORE,
         limit: int | None = None, content_ids: set[str] | None = None,
         grounder: Grounder | None = None, whole_tracks: bool = True) -> FindResult:
    """Every moment of every person in the index that ``referrer`` says matches ``query``, best first.

    ``total`` counts all matches; ``hits`` holds the first ``limit`` of them (all if None).
    ``content_ids`` restricts the search to those files (what a scan just added). ``grounder``
    (refcli.ground) finds the things of "holding a microphone" on the frames that need them.
    Where the stored values of a track decide the query (``Referrer.per_track``), each track is
    judged once, from the tracks table (refcli.query.tracks); otherwise only the frames that
    hold a person the referrer's cheap test keeps are read (refcli.query.pushdown).
    ``whole_tracks=False`` reads and judges every frame instead (the same answer, slower: for
    comparing the two).
    """
    require_query(query)
    unsupported = list(referrer.unsupported(query))
    chosen: dict[tuple[str, int, int], list[Chosen]] = {}
    places: dict[str, Place] = {}
    warnings: list[str] = []
    dropped: list[str] = []
    judged = tracks_judged = 0
    samples: dict[tuple[str, int], list[int]] | None = None  # of the chosen tracks, when judged whole
    cache = AnswerCache(store, referrer, query, min_score)
    grounding = Grounding(store, referrer, query, grounder)
    terms = None if unsupported else referrer.per_track(query)
    whole_person = only_like(query)  # the person of a hit: also where their face was not seen
    if terms is not None and whole_person:
        terms = replace(terms, exact=False)  # the pieces joined to theirs come too, chosen or not
    chunks: Iterable[Sequence[FrameRequest | TrackRequest]] = ()
    plan: TrackPlan | None = None
    if whole_tracks and terms is not None and answers_alone(terms, min_score):  # each track judged once, no frame read
        plan = track_plan(store, query, referrer, terms, min_score, content_ids, limit)
        chunks, samples = plan.batches, {}
    elif not unsupported:
        current = store.contents.current()  # one snapshot for the frames to read and their reading
        keep = frames_to_read(store, current, terms, min_score, content_ids) if (
            whole_tracks and terms is not None and terms.narrow is not None) else None
        chunks = frame_requests(store, query, min_score, content_ids, referrer, grounding, keep, current)
    for chunk in chunks:
        results = cache.refer(chunk)
        for item, result in zip(chunk, results):
            for phrase in result.unsupported:
                if phrase not in unsupported:
                    unsupported.append(phrase)
            dropped += [phrase for phrase in result.ignored if phrase not in dropped]
            warnings += [w for w in result.warnings if w not in warnings][:20 - len(warnings)]
            places.setdefault(item.content_id, item.place)
            for key, picks in item.picked(result):
                chosen.setdefault(key, []).extend(picks)
            if isinstance(item, TrackRequest):
                tracks_judged += 1
                if result.indexes and samples is not None:
                    samples[(item.key[0], item.key[2])] = item.samples
            else:
                judged += 1
    if unsupported:
        hits = []
    elif plan is not None and plan.hits is not None:
        hits = plan.hits
    else:
        hits = moments(store, chosen, places, whole_person=whole_person, samples=samples,
                       joins=plan.joins if plan else None)
    hits.sort(key=lambda h: h.rank)
    said = list(referrer.ignored(query))
    ignored = said + [p for p in dropped if p not in said]
    cache.save()
    known = plan.total if plan is not None and plan.total is not None and not unsupported else None
    return FindResult(query=query, backend=referrer.name, total=len(hits) if known is None else known,
                      hits=hits if limit is None else hits[:limit], unsupported=unsupported, ignored=ignored,
                      warnings=warnings, frames_judged=judged, frames_grounded=grounding.ran,
                      tracks_judged=tracks_judged)


def require_query(query: str) -> None:
    """Refuse a query that says nothing ("", "the", "!!!"): answering everyone would be a guess."""
    from refcli.errors import UsageError
    from refcli.refer.grammar import says_something

    if not says_something(query):
        raise UsageError(f"the query {query.strip()[:60]!r} says nothing to look for: describe someone, "
                         "e.g. \"person\" for everyone or \"the woman in red on the left\"")
