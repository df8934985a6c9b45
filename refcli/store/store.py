"""LanceDB access: one writer at a time, generation-switched writes, consistent reads.

LanceDB has no multi-table transactions. A file's new frames and tracks are written under a
fresh generation number first; its media row, which names the current generation, is
switched last. Readers join on the current generation, so a crash or a concurrent read sees
either the old rows or the new ones, never a mix. Superseded rows are swept afterwards.

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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from refcli import faults
from refcli.errors import (
    REPAIR_HINT,
    DatabaseDamagedError,
    SchemaTooNewError,
    StoreError,
    WriterBusyError,
)
from refcli.io.discover import Fingerprint, db_path, real_path
from refcli.store import schema, sql
from refcli.store.caches import Caches
from refcli.store.gallery import Gallery
from refcli.store.guard import Guarded, damaged, guarded
from refcli.store.watches import Watches

if TYPE_CHECKING:
    from refcli.config import IndexSettings
    from refcli.store.health import Health
    from refcli.track import Rows

_LOCK_NAME = "writer.lock"
_HOLDER_NAME = "writer.json"
_PREPARE_WAIT = 30.0  # seconds: making a database takes well under one
_COMPACT_AFTER_FRAGMENTS = 16
_INDEX_AFTER_ROWS = 10_000
_INDEXED = {"tracks": "content_id", "frames": "content_id", "faces": "content_id", "poses": "content_id",
            "grounded": "key"}


def default_db_path() -> str:
    """$REFCLI_DB, else $XDG_DATA_HOME/refcli/db, else ~/.local/share/refcli/db."""
    if os.environ.get("REFCLI_DB"):
        return os.environ["REFCLI_DB"]
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(data_home, "refcli", "db")


@dataclass(frozen=True)
class FileRecord:
    path: str
    content_id: str | None
    kind: str
    fingerprint: Fingerprint
    error: str | None
    gone_at: float | None = None

    def row(self, **changes: Any) -> dict[str, Any]:
        """The files-table row of this record, with ``changes``."""
        fp = self.fingerprint
        row = {"path": self.path, "content_id": self.content_id, "kind": self.kind, "size": fp.size,
               "mtime_ns": fp.mtime_ns, "mode": fp.mode, "error": self.error, "seen_at": time.time(),
               "gone_at": self.gone_at}
        row.update(changes)
        return row


@dataclass(frozen=True)
class MediaRecord:
    content_id: str
    kind: str
    status: str
    error: str | None
    signature: str
    generation: int
    full_hash: str | None = None


@dataclass(frozen=True)
class TrackFeatures:
    """What `find` needs of every track, from one scan of the tracks table, by (content id,
    generation, track): the best detector score, and the measured features — colours, and faces
    when they were indexed (the key is absent otherwise: "not measured" differs from "no face
    seen")."""

    scores: dict[tuple[str, int, int], float]
    features: dict[tuple[str, int, int], dict[str, Any]]
    faces_indexed: bool


class Store:
    """An open refcli database. Use ``Store.open``; write only inside ``writer()``."""

    def __init__(self, path: str, db: Any) -> None:
        self.path = path
        self._db = db
        self._tables: dict[str, Any] = {}
        self._last_generation = 0
        self._lock: Any = None
        self._gen_lock = threading.Lock()
        self._generation_floor = False  # the stored generations have been read (new_generation)
        self.gallery = Gallery(self)
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
        import lancedb

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

    def _read(self, name: str, columns: list[str] | None = None, where: str | None = None) -> pa.Table:
        """A table (some columns, some rows) as Arrow."""
        if name not in self._tables and name not in self._table_names():
            # meta is made last, after every table: one missing now was lost, not yet to be made
            raise damaged(self.path, name, "the table's folder is missing")
        table = self._table(name)
        table.checkout_latest()
        if where is None and columns is None:
            return table.to_arrow()
        query = table.search()  # a scan that reads only the asked columns (not the JPEGs)
        if where is not None:
            query = query.where(where)
        if columns:
            query = query.select(columns)
        return query.limit(None).to_arrow()

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

    def commit(self, rows: Rows | None = None, media: Iterable[dict[str, Any]] = (),
               files: Iterable[dict[str, Any]] = ()) -> None:
        """Write content rows, then media rows (the generation switch), then file rows.

        Content rows may belong to files still being indexed: their generation is not
        current until a later commit switches their media row, so readers ignore them.
        """
        self._require_writer()
        media, files = list(media), list(files)
        if rows is not None:
            for name in rows.TABLES:
                data = getattr(rows, name)
                if data:
                    self._table(name).add(pa.Table.from_pylist(data, schema=schema.TABLES[name]))
                    faults.point("between-writes")
        faults.point("before-switch")
        if media:
            self._upsert("media", "content_id", media, schema.MEDIA)
        if files:
            self._upsert("files", "path", [{**row, "path": db_path(row["path"])} for row in files], schema.FILES)

    def _upsert(self, name: str, key: str, rows: list[dict[str, Any]], table_schema: pa.Schema) -> None:
        latest: dict[Any, dict[str, Any]] = {row[key]: row for row in rows}  # last write wins
        data = pa.Table.from_pylist(list(latest.values()), schema=table_schema)
        (self._table(name).merge_insert(key).when_matched_update_all()
         .when_not_matched_insert_all().execute(data))

    def sweep(self) -> int:
        """Delete rows no reader can reach: superseded generations and content no file points to.

        Returns the number of contents whose rows were removed.
        """
        self._require_writer()
        referenced = set(self._read("files", ["content_id"]).column("content_id").drop_null().to_pylist())
        media = self._read("media", ["content_id", "generation"]).to_pylist()
        orphans = [m["content_id"] for m in media if m["content_id"] not in referenced]
        current = {(m["content_id"], m["generation"]) for m in media if m["content_id"] in referenced}
        if orphans:
            self._table("media").delete(f"content_id IN ({sql.id_list(orphans)})")
        for name in schema.CONTENT_TABLES:
            pairs = self._read(name, ["content_id", "generation"])
            stale = {g for c, g in zip(pairs.column("content_id").to_pylist(),
                                        pairs.column("generation").to_pylist()) if (c, g) not in current}
            for chunk in sql.chunks(sorted(stale), 500):
                # generations are unique across the database, so they alone name the rows
                self._table(name).delete(f"generation IN ({', '.join(str(int(g)) for g in chunk)})")
        return len(orphans)

    def drop_contents(self, content_ids: list[str]) -> None:
        """Forget these contents' media rows: their files are decoded again by the next index
        (`refcli repair` does it to contents that lost rows); their rows are swept."""
        self._require_writer()
        for chunk in sql.chunks(content_ids, 500):
            self._table("media").delete(f"content_id IN ({sql.id_list(chunk)})")

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
        for name in ("files", "media", "frames", "tracks", "faces", "poses", "seen_hits", "grounded"):
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

    # -- readers -----------------------------------------------------------------------------

    def files(self) -> dict[str, FileRecord]:
        out: dict[str, FileRecord] = {}
        for row in self._read("files").to_pylist():
            path = real_path(row["path"])
            out[path] = FileRecord(
                path=path, content_id=row["content_id"], kind=row["kind"],
                fingerprint=Fingerprint(row["size"], row["mtime_ns"], row["mode"]), error=row["error"],
                gone_at=row.get("gone_at"))
        return out

    def media(self) -> dict[str, MediaRecord]:
        columns = ["content_id", "kind", "status", "error", "signature", "generation", "full_hash"]
        return {row["content_id"]: MediaRecord(**row) for row in self._read("media", columns).to_pylist()}

    def current_frames(self) -> tuple[pa.Table, dict[str, list[str]]]:
        """Frames of the current generation of every indexed content that some path points to.

        Returns the frames (plus a ``kind`` column) and, per content id, its sorted paths.
        The media table is read first: a writer switching a generation meanwhile leaves the
        old rows in place until its sweep, so this snapshot stays whole.
        """
        media = self._read("media", ["content_id", "generation", "kind", "status"])
        media = media.filter(pc.equal(media.column("status"), "ok")).drop_columns(["status"])
        paths: dict[str, list[str]] = {}
        for row in self._read("files", ["path", "content_id", "gone_at"]).to_pylist():
            if row["content_id"] is not None and row["gone_at"] is None:  # gone files are not answers
                paths.setdefault(row["content_id"], []).append(real_path(row["path"]))
        frames = self._read("frames")
        keys = frames.select(["content_id", "generation"]).append_column(
            "_row", pa.array(range(frames.num_rows), pa.int64()))
        # Arrow joins cannot carry nested columns: join the keys, then take the rows.
        matched = keys.join(media, keys=["content_id", "generation"], join_type="inner").sort_by("_row")
        matched = matched.filter(pc.is_in(matched.column("content_id"), pa.array(list(paths), pa.string())))
        current = frames.take(matched.column("_row")).append_column("kind", matched.column("kind"))
        return current, {cid: sorted(p) for cid, p in paths.items()}

    def tracks(self, content_id: str, generation: int,
               tracks: Iterable[int] | None = None) -> dict[int, dict[str, Any]]:
        """Track rows of one content generation (all, or the given track ids), by track id."""
        where = f"content_id = '{sql.checked_id(content_id)}' AND generation = {int(generation)}"
        wanted = sorted({int(t) for t in tracks}) if tracks is not None else None
        if wanted is not None:
            if not wanted:
                return {}
            where += f" AND track IN ({', '.join(map(str, wanted))})"
        return {row["track"]: row for row in self._read("tracks", where=where).to_pylist()}

    def track_features(self) -> TrackFeatures:
        with_faces = self.faces_indexed()
        table = self._read("tracks", ["content_id", "generation", "track", "score", "upper_colours",
                                      "lower_colours"])
        scores: dict[tuple[str, int, int], float] = {}
        out: dict[tuple[str, int, int], dict[str, Any]] = {}
        for row in table.to_pylist():
            key = (row["content_id"], row["generation"], row["track"])
            scores[key] = row["score"]
            colours = None if row["upper_colours"] is None else {
                part: {c["name"]: c["share"] for c in row[f"{part}_colours"] or []} for part in ("upper", "lower")}
            out[key] = {"colours": colours, "faces": []} if with_faces else {"colours": colours}
        if with_faces:
            faces = self._read("faces", ["content_id", "generation", "track", "embedding"])
            for row in faces.to_pylist():
                key = (row["content_id"], row["generation"], row["track"])
                if key in out:
                    out[key]["faces"].append(row["embedding"])
        return TrackFeatures(scores, out, with_faces)

    def track_motion(self) -> dict[tuple[str, int, int], tuple[list[int], list[float] | None]]:
        """Per track: its samples and their motion (3 floats each, see refcli/features/motion.py;
        None for tracks indexed before motion was measured)."""
        table = self._read("tracks", ["content_id", "generation", "track", "samples", "motion"])
        return {(c, g, t): (samples, motion) for c, g, t, samples, motion in zip(
            *(table.column(n).to_pylist() for n in ("content_id", "generation", "track", "samples", "motion")))}

    def track_poses(self) -> dict[tuple[str, int, int], list[tuple[float | None, dict[str, Any]]]]:
        """Per track, in time order: (time, {"cues": {cue: (value, confidence)}, "keypoints": {part: (x, y)}})
        of each sample whose pose was estimated."""
        from refcli.features.pose import Pose, keypoints

        out: dict[tuple[str, int, int], list[tuple[float | None, dict[str, Any]]]] = {}
        table = self._read("poses", ["content_id", "generation", "track", "sample", "time", "landmarks", "cues"])
        for row in sorted(table.to_pylist(), key=lambda r: r["sample"]):
            pose = {"cues": {c["name"]: (c["value"], c["confidence"]) for c in row["cues"]},
                    "keypoints": keypoints(Pose.from_flat(row["landmarks"]))}
            out.setdefault((row["content_id"], row["generation"], row["track"]), []).append((row["time"], pose))
        return out

    def faces_indexed(self) -> bool:
        return "faces" in self._table_names() and self._table("faces").count_rows() > 0

    # -- files that disappeared --------------------------------------------------------------

    def prune(self, older_than_days: float = 0.0) -> int:
        """Forget files marked gone (for at least ``older_than_days``), then their unreachable content."""
        self._require_writer()
        cutoff = time.time() - older_than_days * 86400
        files = self._table("files")
        before = files.count_rows()
        files.delete(f"gone_at IS NOT NULL AND gone_at <= {float(cutoff)!r}")
        removed = before - files.count_rows()
        if removed:
            self.sweep()
        return removed

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


    def track_samples(self, wanted: dict[tuple[str, int], set[int]]) -> dict[tuple[str, int], list[int]]:
        """Sample lists of the given tracks ((content, generation) -> track ids), in one scan."""
        if not wanted:
            return {}
        table = self._read("tracks", ["content_id", "generation", "track", "samples"])
        out = {}
        for cid, gen, track, samples in zip(*(table.column(n).to_pylist()
                                              for n in ("content_id", "generation", "track", "samples"))):
            if track in wanted.get((cid, gen), ()):
                out[(cid, track)] = samples
        return out

    def keyframe_samples(self) -> dict[tuple[str, int], set[int]]:
        """Which samples of each content generation have a stored keyframe."""
        out: dict[tuple[str, int], set[int]] = {}
        table = self._read("keyframes", ["content_id", "generation", "sample"])
        for cid, gen, sample in zip(*(table.column(n).to_pylist() for n in ("content_id", "generation", "sample"))):
            out.setdefault((cid, gen), set()).add(sample)
        return out

    def keyframe(self, content_id: str, generation: int, sample: int) -> dict[str, Any] | None:
        where = (f"content_id = '{sql.checked_id(content_id)}' AND generation = {int(generation)} "
                 f"AND sample = {int(sample)}")
        rows = self._read("keyframes", where=where).to_pylist()
        return rows[0] if rows else None

    def content(self, prefix: str) -> tuple[MediaRecord, list[FileRecord]]:
        """The indexed content whose id starts with ``prefix``, and the files that held it, by path
        (with the fingerprints they were indexed with)."""
        matches = [m for cid, m in self.media().items() if cid.startswith(prefix.lower())]
        if len(matches) != 1:
            raise StoreError(f"{'no' if not matches else 'more than one'} indexed file has an id starting "
                             f"with {prefix!r}: copy the hit id from `refcli find`")
        record = matches[0]
        files = sorted((r for r in self.files().values() if r.content_id == record.content_id), key=lambda r: r.path)
        return record, files

    def _file_states(self) -> tuple[int, int, dict[str, int], list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """Files present, files gone, present files by kind, failures (by path) and media rows."""
        files = self._read("files", ["path", "content_id", "error", "gone_at"]).to_pylist()
        media = {row["content_id"]: row for row in self._read(
            "media", ["content_id", "kind", "status", "error", "people", "samples", "generation"]).to_pylist()}
        failures = []
        kinds = {"image": 0, "video": 0}
        gone = present = 0
        for row in files:
            if row["gone_at"] is not None:
                gone += row["content_id"] is not None  # not problems that are over (a folder readable again)
                continue
            present += 1
            record = media.get(row["content_id"]) if row["content_id"] else None
            error = row["error"] or (record["error"] if record and record["status"] == "failed" else None)
            if error:
                failures.append({"path": real_path(row["path"]), "error": error})
            elif record:
                kinds[record["kind"]] = kinds.get(record["kind"], 0) + 1
        return present, gone, kinds, sorted(failures, key=lambda f: f["path"]), media

    def _current_rows(self, name: str, current: set[tuple[str, int]]) -> int:
        """Rows of a content table that readers can reach (not superseded generations awaiting a sweep)."""
        pairs = self._read(name, ["content_id", "generation"])
        return sum(1 for key in zip(pairs.column("content_id").to_pylist(), pairs.column("generation").to_pylist())
                   if key in current)

    def failures(self) -> list[dict[str, Any]]:
        """Files that could not be indexed, and why (`refcli errors`), by path."""
        return self._file_states()[3]

    def check(self) -> Health:
        """Whether every table opens and reads, and holds the rows its media rows count (cheap:
        light columns only; see refcli.store.health)."""
        from refcli.store.health import check

        return check(self)

    def status(self) -> dict[str, Any]:
        """What the database holds and which files failed, for `refcli status`."""
        present, gone, kinds, failures, media = self._file_states()
        ok = [m for m in media.values() if m["status"] == "ok"]
        last_scan = self.get_meta("last_scan")
        return {
            "db": self.path, "schema_version": schema.SCHEMA_VERSION, "size_bytes": _folder_size(self.path),
            "files": present, "images": kinds["image"], "videos": kinds["video"], "gone": gone,
            "failed": len(failures), "contents": len(media), "frames": sum(m["samples"] or 0 for m in ok),
            "tracks": self._current_rows("tracks", {(cid, m["generation"]) for cid, m in media.items()
                                                    if m["status"] == "ok"}),
            "people": sum(m["people"] or 0 for m in ok), "watches": len(self.watches.all()),
            "last_scan": float(last_scan) if last_scan else None,
            "index_settings": dataclasses.asdict(settings) if (settings := self.index_settings()) else None,
            "failures": failures,
        }


def _folder_size(path: str) -> int:
    total = 0
    for folder, _, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return total

