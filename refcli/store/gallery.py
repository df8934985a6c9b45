"""`Store.gallery`: the named people whose faces `find` recognises (`refcli faces ...`).

Each row is one enrolled photo's face embedding under a name; a name has as many rows as photos.
`forget_faces` is the privacy switch: it deletes every face embedding the database holds, the
gallery's and those found while indexing (the ``faces`` content table), old table versions too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

import pyarrow as pa

from refcli.store import schema, sql
from refcli.store.people import drop_old_versions

if TYPE_CHECKING:
    from refcli.store.store import Store

__all__ = ["Gallery", "GalleryEntry", "GalleryRow"]


class GalleryEntry(TypedDict):
    """An enrolled photo, without its embedding (`refcli faces list`)."""

    name: str
    source: str  # the photo's path when it was enrolled
    added_at: float


class GalleryRow(GalleryEntry):
    """An enrolled photo's face (schema.GALLERY)."""

    embedding: list[float]


class Gallery:
    """The face gallery of one Store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def embeddings(self) -> dict[str, list[list[float]]]:
        """Every named person's face embeddings, by name (what referrers recognise people by):
        the photos enrolled with `refcli faces add`, and the faces of the people named with
        `refcli people name` (one notion of a named person: a name and faces)."""
        out: dict[str, list[list[float]]] = {}
        for row in self._store._read("gallery", ["name", "embedding"]).to_pylist():
            out.setdefault(row["name"], []).append(row["embedding"])
        names = {pid: name for pid, name in self._store.people.names().items() if name}
        if names:
            assigned = {key: pid for key, pid in self._store.people.assignments().items() if pid in names}
            for face in self._store.people.faces(current=False):
                pid = assigned.get(face.key)
                if pid is not None:
                    out.setdefault(names[pid], []).append(face.embedding)
        return out

    def entries(self) -> list[GalleryEntry]:
        rows: list[GalleryEntry] = self._store._read("gallery", ["name", "source", "added_at"]).to_pylist()
        return rows

    def add(self, rows: list[GalleryRow]) -> None:
        self._store._require_writer()
        self._store._table("gallery").add(pa.Table.from_pylist(rows, schema=schema.GALLERY))

    def remove(self, name: str) -> int:
        """Remove every photo of ``name``; returns how many there were."""
        self._store._require_writer()
        table = self._store._table("gallery")
        before = table.count_rows()
        table.delete(f"name = {sql.quote(name)}")
        return before - table.count_rows()

    def forget_faces(self) -> tuple[int, int]:
        """Delete every stored face embedding: the gallery and the faces found while indexing.

        Returns how many gallery photos and indexed faces were deleted. The people those faces
        were grouped into go with them.
        """
        self._store._require_writer()
        self._store.people.forget_all()
        counts = []
        for name in ("gallery", "faces"):
            table = self._store._table(name)
            counts.append(table.count_rows())
            table.delete("true")
        drop_old_versions(self._store, ("gallery", "faces"))  # ...and the versions that still hold them
        return counts[0], counts[1]
