"""`refcli find`: run a referrer over the stored frames and turn its choices into hits.

A referrer judges one frame at a time; "the person on the left" may hold for part of a track
only. A hit is therefore a *moment*: a run of consecutive samples of one track that the
referrer chose, with the box and time of its best sample.
"""

from __future__ import annotations

from refcli.defaults import PEOPLE_MIN_SCORE
from refcli.ground import Grounder
from refcli.people.like import only_like
from refcli.query.assembly import frame_requests
from refcli.query.cache import AnswerCache
from refcli.query.frames import Frame
from refcli.query.grounding import Grounding
from refcli.query.hits import FindResult
from refcli.query.moments import Chosen, moments
from refcli.refer import Referrer
from refcli.store import Store


def find(store: Store, query: str, referrer: Referrer, *, min_score: float = PEOPLE_MIN_SCORE,
         limit: int | None = None, content_ids: set[str] | None = None,
         grounder: Grounder | None = None) -> FindResult:
    """Every moment of every person in the index that ``referrer`` says matches ``query``, best first.

    ``total`` counts all matches; ``hits`` holds the first ``limit`` of them (all if None).
    ``content_ids`` restricts the search to those files (what a scan just added). ``grounder``
    (refcli.ground) finds the things of "holding a microphone" on the frames that need them.
    """
    require_query(query)
    unsupported = list(referrer.unsupported(query))
    chosen: dict[tuple[str, int, int], list[Chosen]] = {}
    frames_of: dict[str, Frame] = {}
    warnings: list[str] = []
    dropped: list[str] = []
    judged = 0
    cache = AnswerCache(store, referrer, query, min_score)
    grounding = Grounding(store, referrer, query, grounder)
    if not unsupported:
        for chunk in frame_requests(store, query, min_score, content_ids, referrer, grounding):
            judged += len(chunk)
            results = cache.refer(chunk)
            for item, result in zip(chunk, results):
                for phrase in result.unsupported:
                    if phrase not in unsupported:
                        unsupported.append(phrase)
                dropped += [phrase for phrase in result.ignored if phrase not in dropped]
                warnings += [w for w in result.warnings if w not in warnings][:20 - len(warnings)]
                frame = item.frame
                frames_of[frame.content_id] = frame
                for index, score in zip(result.indexes, result.scores):
                    candidate = item.people[index]
                    key = (frame.content_id, frame.generation, int(candidate.track))
                    chosen.setdefault(key, []).append(Chosen(
                        frame.sample, frame.time, [round(float(v), 1) for v in candidate.box], float(score)))
    # the person of a hit: also where their face was not seen
    hits = [] if unsupported else moments(store, chosen, frames_of, whole_person=only_like(query))
    hits.sort(key=lambda h: (-h.score, h.path, h.start if h.start is not None else -1.0))
    said = list(referrer.ignored(query))
    ignored = said + [p for p in dropped if p not in said]
    cache.save()
    return FindResult(query=query, backend=referrer.name, total=len(hits),
                      hits=hits if limit is None else hits[:limit], unsupported=unsupported, ignored=ignored,
                      warnings=warnings, frames_judged=judged, frames_grounded=grounding.ran)


def require_query(query: str) -> None:
    """Refuse a query that says nothing ("", "the", "!!!"): answering everyone would be a guess."""
    from refcli.errors import UsageError
    from refcli.refer.grammar import says_something

    if not says_something(query):
        raise UsageError(f"the query {query.strip()[:60]!r} says nothing to look for: describe someone, "
                         "e.g. \"person\" for everyone or \"the woman in red on the left\"")
