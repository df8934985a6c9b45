"""LanceDB access: one writer at a time, generation-switched writes, consistent reads.

LanceDB has no multi-table transactions. A file's new frames and tracks are written under a
fresh generation number first; its media row, which names the current generation, is
switched last. Readers join on the current generation, so a crash or a concurrent read sees
either the old rows or the new ones, never a mix. Superseded rows are swept afterwards.

`Store` is the database itself: opening, creating and migrating it, the writer lock, generation
numbers, the meta values, `check` and `optimize`. What the tables hold is read and written through
its parts, one per concern, each a small class beside this module:

- ``store.contents`` (refcli.store.content): indexed files and contents, their frames, tracks,
  keyframes, faces and poses; `commit`, `sweep`, `prune`;
- ``store.gallery`` (refcli.store.gallery): the named people's faces;
- ``store.watches`` (refcli.store.watches): standing queries and the hits they reported;
- ``store.caches`` (refcli.store.caches): cached answers of model referrers and object grounders.

The parts belong to the Store: they reach the tables through its ``_read``, ``_table`` and
``_require_writer``, which nothing outside refcli.store calls (tests aside).

Every LanceDB call goes through refcli.store.guard, which turns a damaged table, a full disk or a
read-only folder into DatabaseDamagedError / DatabaseWriteError; `check` (refcli.store.health)
looks for damage before it is stumbled on, and refcli.store.repair is the way back.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypedDict

import pyarrow as pa
import pyarrow.compute as pc

from refcli.errors import (
    REPAIR_HINT,
    DatabaseDamagedError,
    SchemaTooNewError,
    StoreError,
    WriterBusyError,
)
from refcli.store import schema, sql
from refcli.store.caches import Caches
from refcli.store.content import Contents, Failure
from refcli.store.gallery import Gallery
from refcli.store.guard import Guarded, damaged, guarded
from refcli.store.people import PeopleTables
from refcli.store.watches import Watches

if TYPE_CHECKING:
    from refcli.config import IndexSettings
    from refcli.store.health import Health

_LOCK_NAME = "writer.lock"
_HOLDER_NAME = "writer.json"
_PREPARE_WAIT = 30.0  # seconds: making a database takes well under one
_COMPACT_AFTER_FRAGMENTS = 16
_INDEX_AFTER_ROWS = 10_000
READ_BATCH_ROWS = 65_536
"""Rows per batch of a scan. LanceDB's default (1024) costs a round trip through its event loop
per batch: reading one column of 100,000 tracks took 48 ms so, 13 ms in batches of 8192 or more."""
# the column `optimize` builds a scalar index on: the content id of the content tables read per content
# (keyframes are read one at a time, by their sample), the key of the grounding cache
_INDEXED = {**{name: "content_id" for name in schema.CONTENT_TABLES if name != "keyframes"}, "grounded": "key"}


def default_db_path() -> str:
    """$REFCLI_DB, else $XDG_DATA_HOME/refcli/db, else ~/.local/share/refcli/db."""
    if os.environ.get("REFCLI_DB"):
        return os.environ["REFCLI_DB"]
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(data_home, "refcli", "db")


class Status(TypedDict):
    """What `refcli status --json` reports (less its "problems", which come from `check`)."""

    db: str
    schema_version: int
    size_bytes: int
    files: int
    images: int
    videos: int
    gone: int
    failed: int
    contents: int
    frames: int
    tracks: int
    people: int
    watches: int
    last_scan: float | None
    index_settings: dict[str, Any] | None
    failures: list[Failure]


class Store:
    """An open refcli database. Use ``Store.open``; write only inside ``writer()``.

    Attributes:
        path: the database folder.
        contents: indexed files and contents (refcli.store.content.Contents).
        gallery: the face gallery (refcli.store.gallery.Gallery).
        people: indexed faces grouped into people (refcli.store.people.PeopleTables).
        watches: standing queries and their seen hits (refcli.store.watches.Watches).
        caches: answers of slow models (refcli.store.caches.Caches).
    """

    def __init__(self, path: str, db: Any) -> None:
        self.path = path
        self._db = db
        self._tables: dict[str, Any] = {}
        self._last_generation = 0
        self._lock: Any = None
        self._gen_lock = threading.Lock()
        self._generation_floor = False  # the stored generations have been read (new_generation)
        self.contents = Contents(self)
        self.gallery = Gallery(self)
        self.people = PeopleTables(self)
        self.watches = Watches(self)
        self.caches = Caches(self)

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *, create: bool = False) -> Store:
        """Open the database at ``path`` (default: ``default_db_path()``).

        With ``create`` a missing database is created; otherwise a missing one is an error
        that says how to make one.
        """
        store = cls.connect(path, create=create)
        store._prepare(create=create)
        return store

    @classmethod
    def connect(cls, path: str | os.PathLike[str] | None = None, *, create: bool = False) -> Store:
        """The database at ``path`` with its schema version not looked at yet: ``open`` checks it,
        `refcli repair` must reach the tables even when that version cannot be read."""
        path = os.fspath(path) if path is not None else None
        if path and "://" in path:
            raise StoreError(f"{path}: refcli keeps its database on a filesystem (local disk or a shared one); "
                             "object storage has no lock for its single writer (see the README, 'Ray')")
        path = os.path.abspath(os.path.expanduser(path or default_db_path()))
        if not os.path.isdir(path):
            if not create:
                raise StoreError(f"no refcli database at {path}: run `refcli index PATH` first, or pass --db")
            try:
                os.makedirs(path, mode=0o700, exist_ok=True)  # faces and file names are private
                os.chmod(path, 0o700)
            except OSError as err:
                raise StoreError(f"cannot create database folder {path}: {err.strerror}") from None
        from refcli.store.lancedb_import import import_lancedb

        lancedb = import_lancedb()
        with guarded(path):
            return cls(path, Guarded(lancedb.connect(path), path))

    def _table_names(self) -> set[str]:
        return schema.table_names(self._db)

    def _prepare(self, *, create: bool) -> None:
        """Check the schema version; with ``create``, make missing tables and migrate.

        Creating and migrating happen under the writer lock, after looking again: two runs
        that start on a new database at once must not see each other's half-made tables.
        """
        if self._ready(create=create) or not create:
            return
        from filelock import FileLock, Timeout

        lock = FileLock(os.path.join(self.path, _LOCK_NAME))
        try:
            with guarded(self.path):
                lock.acquire(timeout=_PREPARE_WAIT)
        except Timeout:
            raise WriterBusyError(f"another refcli is writing to {self.path}{self._holder()}; "
                                  "try again later or pass --wait") from None
        try:
            if not self._ready(create=True):
                self.make_current()
        finally:
            lock.release()

    def make_current(self) -> None:
        """Migrate to this schema version and make missing tables (under the writer lock)."""
        existing = self._table_names()
        if "meta" in existing and self._schema_version() < schema.SCHEMA_VERSION:
            self._migrate(self._schema_version())
        if "meta" in existing:
            schema.add_feature_storage(self._db)
        for name, table_schema in schema.TABLES.items():
            if name not in existing and name != "meta":
                self._db.create_table(name, schema=table_schema, exist_ok=True)
        if "meta" not in existing:
            os.chmod(self.path, 0o700)  # a folder made by the user for refcli: faces and names are private
            # made last: a database without its version is one still being created
            self._db.create_table("meta", data=pa.Table.from_pylist(
                [{"key": "schema_version", "value": str(schema.SCHEMA_VERSION)}], schema=schema.META))

    def _ready(self, *, create: bool) -> bool:
        """Whether the database is complete and current; raises where it cannot be used at all."""
        existing = self._table_names()
        if "meta" in existing:
            version = self._schema_version()
            if version > schema.SCHEMA_VERSION:
                raise SchemaTooNewError(
                    f"database {self.path} has schema v{version}, newer than this refcli "
                    f"understands (v{schema.SCHEMA_VERSION}): upgrade refcli")
            if version < schema.SCHEMA_VERSION and not create:
                raise StoreError(f"database {self.path} has an older schema (v{version}): "
                                 "run `refcli index` once to upgrade it")
            return version == schema.SCHEMA_VERSION and set(schema.TABLES) <= existing
        if existing and not create:
            raise StoreError(f"{self.path} is not a refcli database (no schema version)")
        return False

    def _schema_version(self) -> int:
        rows = self._table("meta").to_arrow().to_pylist()
        values = [r["value"] for r in rows if r["key"] == "schema_version"]
        if not values:
            raise StoreError(f"{self.path} is not a refcli database (no schema version)")
        try:
            return int(values[-1])
        except ValueError:
            cause = f"its schema version reads {values[-1][:40]!r}"
            raise DatabaseDamagedError(f"database {self.path} is damaged: {cause}; {REPAIR_HINT}", table="meta",
                                       cause=cause) from None

    def _migrate(self, version: int) -> None:
        while version < schema.SCHEMA_VERSION:
            schema.MIGRATIONS[version](self._db)
            version += 1
        self._put_meta("schema_version", str(version))

    def _table(self, name: str) -> Any:
        if name not in self._tables:
            self._tables[name] = self._db.open_table(name)
        return self._tables[name]

    def forget_tables(self) -> None:
        """Drop the open table handles (repair replaces tables' folders under them)."""
        self._tables.clear()

    def _read(self, name: str, columns: list[str] | None = None, where: str | None = None,
              row_ids: bool = False) -> pa.Table:
        """A table (some columns, some rows) as Arrow; with ``row_ids``, each row's address in
        ``_rowid`` (for ``_take``)."""
        if where is None and columns is None and not row_ids:
            return self._latest(name).to_arrow()
        batches = self._batches(name, columns, where, row_ids)
        with guarded(self.path, name):  # the rows are read here, outside LanceDB's guarded calls
            return batches.read_all()

    def _scan(self, name: str, columns: list[str] | None = None) -> Iterator[pa.Table]:
        """A table (some columns) in batches of up to READ_BATCH_ROWS rows, all of one version:
        what is held at once stays bounded however large the table."""
        batches = self._batches(name, columns)
        while True:
            with guarded(self.path, name):
                try:
                    batch = batches.read_next_batch()
                except StopIteration:
                    return
            yield pa.Table.from_batches([batch])

    def _latest(self, name: str) -> Any:
        """The table's handle at its latest version."""
        if name not in self._tables and name not in self._table_names():
            # meta is made last, after every table: one missing now was lost, not yet to be made
            raise damaged(self.path, name, "the table's folder is missing")
        table = self._table(name)
        table.checkout_latest()
        return table

    def _batches(self, name: str, columns: list[str] | None = None, where: str | None = None,
                 row_ids: bool = False) -> pa.RecordBatchReader:
        """A scan that reads only the asked columns (not the JPEGs), not yet read."""
        query = self._latest(name).search()
        if where is not None:
            query = query.where(where)
        if columns:
            query = query.select(columns)
        if row_ids:
            query = query.with_row_id(True)
        return query.limit(None).to_batches(READ_BATCH_ROWS)

    def _take(self, name: str, row_ids: Sequence[int], columns: list[str]) -> pa.Table:
        """Some columns of the rows at these addresses (``_read(row_ids=True)``), in this order. An
        address holds until the table is compacted: callers check the rows' keys."""
        table = self._table(name)
        if not row_ids:
            return table.search().select(columns).where("false").limit(None).to_arrow()
        taken = table.take_row_ids(sorted(set(row_ids))).select([*columns, "_rowid"]).to_arrow()
        at = pc.index_in(pa.array(row_ids, pa.uint64()), value_set=taken.column("_rowid"))
        return taken.take(at).drop_columns(["_rowid"])  # a row gone: nulls

    # -- the writer --------------------------------------------------------------------------

    @contextmanager
    def writer(self, wait: float = 0.0) -> Iterator[Store]:
        """Hold the single-writer lock; ``wait`` seconds for it (negative: forever).

        An OS lock (flock) on a local file: the kernel releases it when its process dies, even by
        kill -9, so a lock left by a crashed run is taken over at once. Who holds it is written
        beside it, for the message. On network filesystems flock may not hold: keep one writer.
        """
        from filelock import FileLock, Timeout

        lock = FileLock(os.path.join(self.path, _LOCK_NAME))
        try:
            with guarded(self.path):  # a read-only folder fails here, before any work
                lock.acquire(timeout=wait)
        except Timeout:
            raise WriterBusyError(f"another refcli is writing to {self.path}{self._holder()}; "
                                  "try again later or pass --wait") from None
        self._lock = lock
        try:
            with guarded(self.path), open(os.path.join(self.path, _HOLDER_NAME), "w", encoding="utf-8") as f:
                json.dump({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}, f)
            yield self
        finally:
            self._lock = None
            lock.release()

    def _holder(self) -> str:
        try:
            with open(os.path.join(self.path, _HOLDER_NAME), encoding="utf-8") as f:
                info = json.load(f)
            since = time.strftime("%Y-%m-%d %H:%M", time.localtime(info["since"]))
            return f" (pid {info['pid']} on {info['host']}, since {since})"
        except (OSError, ValueError, KeyError):
            return ""

    def _require_writer(self) -> None:
        if self._lock is None:
            raise StoreError("internal error: write outside Store.writer()")

    def new_generation(self) -> int:
        """A number never used before in this database (time-based, strictly increasing)."""
        with self._gen_lock:
            if not self._generation_floor:
                # Generations also order contents for the standing queries: never below one
                # already stored, whatever this machine's clock says now.
                stored = self._read("media", ["generation"]).column("generation").drop_null().to_pylist()
                self._last_generation = max([self._last_generation, *stored])
                self._generation_floor = True
            self._last_generation = max(self._last_generation + 1, time.time_ns())
            return self._last_generation

    def optimize(self, force: bool = False) -> None:
        """Compact small fragments left by many small commits and keep the scalar indexes current.

        Done after a run when a table has gathered many small fragments (each commit adds one),
        or always with ``force`` (`refcli optimize`). Indexes on content ids make the per-file
        lookups of `find` and `show` fast once there are many tracks; LanceDB's optimize adds new
        rows to them, so new rows are searchable through the index.
        """
        self._require_writer()
        # Not `keyframes`: its fragments are already ~8 MB of JPEGs each, and compacting them
        # held as much memory as the table is big (85 MB for 10 min of video).
        existing = self._table_names()
        compacted = ["files", "media", *(n for n in schema.CONTENT_TABLES if n != "keyframes"), "seen_hits", "grounded"]
        for name in compacted:
            if name not in existing:
                continue
            table = self._table(name)
            small = table.stats()["fragment_stats"]["num_small_fragments"]
            if force or small >= _COMPACT_AFTER_FRAGMENTS:
                table.optimize()
            if name in _INDEXED and (force or table.count_rows() >= _INDEX_AFTER_ROWS):
                names = {index.name for index in table.list_indices()}
                if f"{_INDEXED[name]}_idx" not in names:
                    from lancedb.index import BTree

                    table.create_index(_INDEXED[name], config=BTree())

    # -- meta --------------------------------------------------------------------------------

    def set_meta(self, key: str, value: str) -> None:
        self._require_writer()
        self._put_meta(key, value)

    def _put_meta(self, key: str, value: str) -> None:
        """Replace one meta value (migrations do it at open, before any writer lock)."""
        meta = self._table("meta")
        meta.delete(f"key = {sql.quote(key)}")
        meta.add(pa.Table.from_pylist([{"key": key, "value": value}], schema=schema.META))

    def index_settings(self) -> IndexSettings | None:
        """The settings the database was last indexed with (None before the first index)."""
        from refcli.config import IndexSettings

        saved = self.get_meta("index_settings")
        return IndexSettings.from_json(saved) if saved else None

    def get_meta(self, key: str) -> str | None:
        values = [r["value"] for r in self._read("meta").to_pylist() if r["key"] == key]
        return values[-1] if values else None

    # -- the whole database ------------------------------------------------------------------

    def check(self) -> Health:
        """Whether every table opens and reads, and holds the rows its media rows count (cheap:
        light columns only; see refcli.store.health)."""
        from refcli.store.health import check

        return check(self)

    def status(self) -> Status:
        """What the database holds and which files failed, for `refcli status`."""
        counts = self.contents.counts()
        last_scan = self.get_meta("last_scan")
        return {
            "db": self.path, "schema_version": schema.SCHEMA_VERSION, "size_bytes": folder_size(self.path),
            "files": counts.files, "images": counts.images, "videos": counts.videos, "gone": counts.gone,
            "failed": len(counts.failures), "contents": counts.contents, "frames": counts.frames,
            "tracks": counts.tracks, "people": counts.people, "watches": len(self.watches.all()),
            "last_scan": float(last_scan) if last_scan else None,
            "index_settings": dataclasses.asdict(settings) if (settings := self.index_settings()) else None,
            "failures": counts.failures,
        }


def folder_size(path: str) -> int:
    total = 0
    for folder, _, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return total

