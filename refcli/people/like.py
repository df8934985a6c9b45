"""`find --like HIT` and "the same person as HIT": a hit stands for the person it shows, by the
faces measured on its track and the faces of the person they were grouped into (`refcli people`).

The hit becomes a named person for one query: its id is the name, its faces are the gallery
entry, and the embedded referrer matches it like any name (refcli.features.faces.SeenFaces).
A query that asks only for that person (`--like HIT` alone, ``only_like``) also gets, in a video,
the pieces of their track joined to a matching one (refcli.query.moments), where their face was
not seen.
"""

from __future__ import annotations

import re

from refcli.errors import RefcliError
from refcli.refer.grammar import says_something
from refcli.render import HitRef
from refcli.store import Store

HIT_ID = re.compile(r"\b[0-9a-f]{6,64}:\d+:\d+\b")
"""A hit id as `refcli find` prints it (CONTENT:TRACK:SAMPLE)."""


def hit_ids(text: str) -> list[str]:
    return HIT_ID.findall(text.lower())


def like_gallery(store: Store, hits: list[str]) -> dict[str, list[list[float]]]:
    """A gallery entry per hit id: the faces of the hit's track and of the person they belong to."""
    gallery: dict[str, list[list[float]]] = {}
    if not hits:
        return gallery
    faces = store.people.faces(current=False)
    assigned = store.people.assignments()
    for text in hits:
        ref = HitRef.parse(text)
        record, _files = store.contents.lookup(ref.content)
        own = [f.key for f in faces if f.key.content_id == record.content_id
               and f.key.generation == record.generation and f.key.track == ref.track]
        if not own:
            raise RefcliError(f"hit {text} shows no face that refcli measured: --like and \"the same person as\" "
                              "follow a person by their face (index the file with --faces; a face turned away or "
                              "too small is not measured)")
        people = {assigned[key] for key in own if key in assigned}
        keys = set(own) | {key for key, pid in assigned.items() if pid in people}
        gallery[text] = [f.embedding for f in faces if f.key in keys]
    return gallery


def like_query(query: str, hit: str) -> str:
    """The expression for `find [QUERY] --like HIT`."""
    return f"{query} who is the same person as {hit}" if query.strip() else hit


def only_like(query: str) -> bool:
    """Whether the query asks for nothing but the person of one or more hits."""
    rest = HIT_ID.sub(" ", query.lower())
    rest = re.sub(r"\b(?:the\s+)?same\s+(?:person|one|man|woman|people)\s+as\b|\b(?:and|or|who|is)\b", " ", rest)
    return bool(hit_ids(query)) and not says_something(rest)

