"""`Store.people`: who each indexed face belongs to, and the people's names (`refcli people`).

The grouping itself is refcli.people.clusters (pure); this part keeps its decisions.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, NamedTuple

import pyarrow as pa

from refcli.people.clusters import FaceKey
from refcli.store import schema, sql

if TYPE_CHECKING:
    from refcli.store.store import Store

__all__ = ["IndexedFace", "PeopleTables", "drop_old_versions"]

_KEY = ["content_id", "generation", "track", "sample"]


class IndexedFace(NamedTuple):
    """A row of the faces table: where the face was seen, its box and its embedding."""

    key: FaceKey
    box: list[float]
    embedding: list[float]


class PeopleTables:
    """The people of one Store and the faces that are theirs."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def names(self) -> dict[int, str | None]:
        """Every person id, with their name (None: not named yet)."""
        return {row["person"]: row["name"] for row in self._store._read("people", ["person", "name"]).to_pylist()}

    def faces(self, current: bool = True) -> list[IndexedFace]:
        """The faces indexed with `--faces`; with ``current``, only those of contents as they are
        now (not of their older generations)."""
        columns = [*_KEY, "box", "embedding"]
        table = self._store.contents.read("faces", columns)
        now = ({(cid, m.generation) for cid, m in self._store.contents.media().items() if m.status == "ok"}
               if current else None)
        return [IndexedFace(FaceKey(c, g, t, s), box, embedding)
                for c, g, t, s, box, embedding in zip(*(table.column(n).to_pylist() for n in columns))
                if now is None or (c, g) in now]

    def assignments(self) -> dict[FaceKey, int]:
        """Face -> person, as decided so far."""
        table = self._store._read("person_faces", [*_KEY, "person"])
        columns = [table.column(n).to_pylist() for n in [*_KEY, "person"]]
        return {FaceKey(c, g, t, s): p for c, g, t, s, p in zip(*columns)}

    def record(self, assigned: Mapping[FaceKey, int], created: Iterable[int], merged: Iterable[tuple[int, int]],
               stale: Iterable[FaceKey] = ()) -> None:
        """Keep a clustering run's decisions: new people, faces given to people, merges (every
        face of ``gone`` moves to ``keep``), and forget assignments of faces no longer indexed."""
        self._store._require_writer()
        people, faces = self._store._table("people"), self._store._table("person_faces")
        now = time.time()
        new_people = [{"person": pid, "name": None, "created_at": now} for pid in created]
        if new_people:
            people.add(pa.Table.from_pylist(new_people, schema=schema.PEOPLE))
        names = self.names() if merged else {}
        for gone, keep in merged:
            faces.update(where=f"person = {int(gone)}", values={"person": int(keep)})
            if names.get(gone) and not names.get(keep):
                people.update(where=f"person = {int(keep)}", values={"name": names[gone]})
                names[keep] = names[gone]
            people.delete(f"person = {int(gone)}")
        stale = list(stale)
        for start in range(0, len(stale), 500):
            faces.delete(" OR ".join(_where(key) for key in stale[start:start + 500]))
        rows = [{**key._asdict(), "person": pid} for key, pid in assigned.items()]
        if rows:
            faces.add(pa.Table.from_pylist(rows, schema=schema.PERSON_FACES))

    def rename(self, person: int, name: str | None) -> None:
        self._store._require_writer()
        self._store._table("people").update(where=f"person = {int(person)}", values={"name": name})

    def faces_of(self, person: int) -> list[FaceKey]:
        return [key for key, pid in self.assignments().items() if pid == person]

    def forget(self, person: int) -> int:
        """Delete a person: their row, which faces were theirs, and those faces' embeddings (with
        the old table versions that hold them). Returns how many faces were deleted."""
        self._store._require_writer()
        keys = self.faces_of(person)
        embeddings = self._store._table("faces")
        for start in range(0, len(keys), 500):
            embeddings.delete(" OR ".join(_where(key) for key in keys[start:start + 500]))
        self._store._table("person_faces").delete(f"person = {int(person)}")
        self._store._table("people").delete(f"person = {int(person)}")
        drop_old_versions(self._store, ("faces", "person_faces", "people"))
        return len(keys)

    def forget_all(self) -> int:
        """Delete every person and grouping (`refcli faces forget`); returns how many people."""
        self._store._require_writer()
        count = len(self.names())
        for name in ("people", "person_faces"):
            self._store._table(name).delete("true")
        drop_old_versions(self._store, ("people", "person_faces"))
        return count


def _where(key: FaceKey) -> str:
    return (f"(content_id = {sql.quote(key.content_id)} AND generation = {int(key.generation)} AND "
            f"track = {int(key.track)} AND sample = {int(key.sample)})")


def drop_old_versions(store: Store, names: Iterable[str]) -> None:
    """Deleted rows also leave the old table versions on disk: faces must not wait a week of
    version retention to be gone. A reader in the middle of a query may fail once."""
    for name in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            store._table(name).optimize(cleanup_older_than=timedelta(0), delete_unverified=True)
