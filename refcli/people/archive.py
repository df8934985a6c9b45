"""The archive's people: faces indexed with `--faces`, grouped (refcli.people.clusters), kept
(Store.people) and summed up for `refcli people`.

Faces are grouped with dlib's descriptor, the one `find` already matches named people with, at
``SAME_PERSON`` (docs/benchmarks.md, "People": how it was chosen).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from refcli.people.clusters import MIN_FACES, Clustering, FaceKey, SeenFace, cluster
from refcli.store import Store

SAME_PERSON = 0.5
"""Distance under which two faces are grouped as one person: stricter than the 0.6 at which dlib
calls two faces the same, because a group grows one face at a time and a wrong face then pulls
in others."""


@dataclass(frozen=True)
class PersonSummary:
    """One person of the archive, as `refcli people` lists them."""

    id: int
    name: str | None
    faces: int
    files: list[str]
    appearances: int  # tracks (a person seen in a video or a photo)
    first_seen: float | None  # modification times of the files they are in
    last_seen: float | None
    example: FaceKey  # the largest face, for a picture
    example_box: list[float] = field(default_factory=list)


def current_faces(store: Store) -> tuple[list[SeenFace], dict[FaceKey, list[float]]]:
    """The indexed faces of contents as they are now (not of older generations), with their boxes."""
    indexed = store.people.faces()
    return ([SeenFace(f.key, np.asarray(f.embedding, np.float32)) for f in indexed],
            {f.key: f.box for f in indexed})


def update(store: Store) -> Clustering:
    """Group the faces not grouped yet (under the writer lock) and keep what was decided."""
    faces, _ = current_faces(store)
    known = store.people.assignments()
    names = store.people.names()
    seen = {face.key for face in faces}
    stale = [key for key in known if key not in seen]
    result = cluster(faces, {k: v for k, v in known.items() if k in seen}, names, SAME_PERSON,
                     next_id=max(names, default=0) + 1)
    if result.assigned or result.merged or stale:
        store.people.record(result.assigned, result.created, result.merged, stale)
    return result


def summaries(store: Store, min_faces: int = MIN_FACES) -> list[PersonSummary]:
    """Every person with at least ``min_faces`` faces (or a name), most faces first."""
    faces, boxes = current_faces(store)
    assigned = store.people.assignments()
    names = store.people.names()
    files_by_content: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for record in store.contents.files().values():
        if record.content_id and record.gone_at is None:
            files_by_content[record.content_id].append((record.path, record.fingerprint.mtime_ns))
    members: dict[int, list[FaceKey]] = defaultdict(list)
    for face in faces:
        if face.key in assigned:
            members[assigned[face.key]].append(face.key)
    out = []
    for pid, keys in members.items():
        name = names.get(pid)
        if len(keys) < min_faces and not name:
            continue
        paths = sorted({p for k in keys for p, _ in files_by_content.get(k.content_id, [])})
        times = [t / 1e9 for k in keys for _, t in files_by_content.get(k.content_id, [])]
        example = max(keys, key=lambda k: _height(boxes[k]))
        out.append(PersonSummary(pid, name, len(keys), paths, len({(k.content_id, k.track) for k in keys}),
                                 min(times, default=None), max(times, default=None), example, boxes[example]))
    out.sort(key=lambda p: (-p.faces, p.id))
    return out


def _height(box: list[float]) -> float:
    return float(box[3] - box[1]) if len(box) == 4 else 0.0
