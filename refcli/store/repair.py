"""`refcli repair`: keep what a damaged database can still read, and index again what it lost.

Each table, under the writer lock:

(a) One that cannot be opened has its newest manifests moved aside until an older version opens
    (the rows of the newer commits are lost; step (c) finds the files they belonged to). When
    none opens, or `_versions` is gone, the table's folder is moved aside and the table made anew.
(b) One that opens but cannot be read in full has its readable rows copied into a fresh table
    that takes its place. Rows are read by offset and limit in chunks of about 8 MB, so memory
    stays bounded whatever the table's size. LanceDB reads each fragment (the rows of one commit)
    from its own data file, so damage is a range of rows: the fragments' ranges are known from the
    row addresses (read from metadata alone), and within one a failing chunk is narrowed down by
    bisection (the readable prefix) and galloping (the next readable row).
(c) Then every content whose current generation holds fewer rows than its media row recorded
    loses that media row, so the next index decodes it again; rows that no current generation
    uses are swept; and the files of those contents are indexed again from their stored paths.

Caches (model answers, grounded objects) are made anew rather than salvaged. Nothing is deleted:
what was moved aside stays in <db>/damaged/<time>/ until the user deletes it.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from refcli.errors import DatabaseDamagedError, SchemaTooNewError, StoreError
from refcli.store import schema
from refcli.store.health import PROBE_COLUMNS, short_contents
from refcli.store.store import folder_size

if TYPE_CHECKING:
    from refcli.index import IndexOptions, IndexSummary
    from refcli.store.store import Store

CACHES = ("verified", "grounded")
_CHUNK_BYTES = 8 << 20
_ADDRESS_CHUNK = 1 << 20  # row addresses read at a time (8 MB)
_SALVAGE = "_salvage"  # suffix of the table a salvage is written to before it replaces the damaged one

# What lost rows of a table mean for the user, where indexing again cannot bring them back.
_LOSSES = {
    "gallery": "enrolled face photos of the gallery: enrol those people again with `refcli faces add`",
    "people": "names given to people: name them again with `refcli people name` (their faces are regrouped)",
    "person_faces": "which person each face is: `refcli people` groups the faces again (names of the lost "
                    "people are kept only where their rows are)",
    "watches": "standing queries: add them again with `refcli watch add`",
    "seen_hits": "hits already reported by `refcli scan`: the next scan may report them again",
    "files": "indexed file paths: run `refcli index` on your folders again to find those files",
}
# Features that indexing again stores only when asked to.
_OPT_IN = {"faces": ("face embeddings", "--faces", "faces"), "poses": ("body poses", "--pose", "pose")}


@dataclass
class TableRepair:
    table: str
    action: str  # "rolled back", "salvaged", "recreated" or "schema version restored"
    cause: str
    rows_kept: int
    rows_lost: int | None  # None: unknown (the lost version's rows could not even be counted)
    moved_aside: list[str] = field(default_factory=list)


@dataclass
class RepairReport:
    db: str
    tables: list[TableRepair] = field(default_factory=list)
    contents_dropped: int = 0  # contents whose rows were incomplete: indexed again (or by the next index)
    reindexed: list[str] = field(default_factory=list)  # paths indexed again
    vanished: list[str] = field(default_factory=list)  # paths to index again that are no longer on disk
    lost: list[str] = field(default_factory=list)  # what cannot come back, in words
    moved_to: str | None = None  # the folder that now holds what was moved aside
    index: IndexSummary | None = None
    healthy: bool = False

    @property
    def nothing_to_do(self) -> bool:
        return not (self.tables or self.contents_dropped or self.reindexed or self.vanished)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["index"] = self.index.to_dict() if self.index is not None else None
        return out


def repair(store: Store, *, reindex: bool = True, progress: Callable[..., Any] | None = None) -> RepairReport:
    """Repair ``store`` (inside ``store.writer()``, opened with ``Store.connect``)."""
    store._require_writer()
    _refuse_foreign(store)
    report = RepairReport(db=store.path)
    aside = _unique(os.path.join(store.path, "damaged", time.strftime("%Y%m%d-%H%M%S")))
    _finish_interrupted_salvage(store, aside)
    existing = store._table_names()
    for name in schema.TABLES:
        done = _repair_table(store, name, name in existing, aside)
        if done is not None:
            report.tables.append(done)
    store.forget_tables()
    said = store.get_meta("schema_version")
    if not (said or "").strip().isdigit():  # lost, or garbled ("eight")
        _restore_version(store)
        rows = store._read("meta", ["key"]).num_rows
        report.tables.append(TableRepair("meta", "schema version restored", "it was lost" if said is None
                                         else f"it read {said[:40]!r}", rows, 0))
    store.make_current()
    _reconcile(store, report)
    if reindex:
        _reindex(store, report, progress)
    report.moved_to = aside if os.path.isdir(aside) else None
    report.healthy = store.check().ok
    return report


# -- (a) and (b): one table --------------------------------------------------------------------


def _repair_table(store: Store, name: str, listed: bool, aside: str) -> TableRepair | None:
    folder = _folder(store, name)
    if not listed:
        store._db.create_table(name, schema=schema.TABLES[name])
        return TableRepair(name, "recreated", "its folder was missing", 0, None)
    moved: list[str] = []
    try:
        table, before = _opened(store, name)
        cause = ""
    except DatabaseDamagedError as err:
        cause = err.cause
        table, before = _roll_back(store, name, aside, moved)
        if table is None:
            return _recreate(store, name, cause, aside, moved, lost=None)
    # every column of every row, but of caches only the light ones: a bad cache is made anew anyway
    unreadable = _first_failure(table, before, _chunk_rows(folder, before),
                                PROBE_COLUMNS[name] if name in CACHES else None)
    if unreadable is None:
        if not moved:
            return None
        return TableRepair(name, "rolled back", cause, before, None, moved)
    cause = cause or unreadable
    if name in CACHES:
        return _recreate(store, name, cause, aside, moved, lost=before)
    rolled_back = bool(moved)  # then the newest version's rows could not even be counted
    kept = _salvage(store, name, table, before, _chunk_rows(folder, before))
    store.forget_tables()
    moved.append(_move_aside(folder, aside))
    os.rename(_folder(store, name + _SALVAGE), folder)
    return TableRepair(name, "salvaged", cause, kept, None if rolled_back else before - kept, moved)


def _recreate(store: Store, name: str, cause: str, aside: str, moved: list[str], lost: int | None) -> TableRepair:
    store.forget_tables()
    moved.append(_move_aside(_folder(store, name), aside))
    store._db.create_table(name, schema=schema.TABLES[name])
    return TableRepair(name, "recreated", cause, 0, lost, moved)


def _opened(store: Store, name: str) -> tuple[Any, int]:
    """The table and its row count (from its manifest: even that can fail)."""
    table = store._table(name)
    return table, table.count_rows()


def _roll_back(store: Store, name: str, aside: str, moved: list[str]) -> tuple[Any, int]:
    """Move the newest manifests aside until the table opens; (None, 0) when no version does."""
    versions = os.path.join(_folder(store, name), "_versions")
    for manifest in _manifests_newest_first(versions):
        moved.append(_move_aside(manifest, os.path.join(aside, f"{name}.lance-versions")))
        store.forget_tables()
        try:
            return _opened(store, name)
        except DatabaseDamagedError:
            continue
    return None, 0


def _manifests_newest_first(folder: str) -> list[str]:
    """Manifest files by version, newest first. Lance names them either by version or, in its
    newer layout, by (2^64 - 1 - version), so that the newest sorts first."""
    try:
        names = [n for n in os.listdir(folder) if n.endswith(".manifest")]
    except FileNotFoundError:
        return []

    def version(name: str) -> int:
        number = int(name.removesuffix(".manifest")) if name.removesuffix(".manifest").isdigit() else -1
        return (2**64 - 1 - number) if number >= 2**63 else number

    return [os.path.join(folder, n) for n in sorted(names, key=version, reverse=True)]


def _first_failure(table: Any, n: int, chunk: int, columns: list[str] | None) -> str | None:
    """Read the table's ``n`` rows in bounded chunks; the cause of the first failure, or None."""
    for start in range(0, n, chunk):
        if isinstance(failure := _try_read(table, start, chunk, columns), str):
            return failure
    return None


def _salvage(store: Store, name: str, table: Any, n: int, chunk: int) -> int:
    """Copy every readable row of ``table`` (``n`` rows) into the fresh table ``name``_salvage;
    returns the rows kept."""
    out = _SalvageWriter(store, name + _SALVAGE, table.schema)
    for start, end in _fragment_ranges(table, n):
        pos = start
        while pos < end:
            size = min(chunk, end - pos)
            rows = _try_read(table, pos, size)
            if isinstance(rows, pa.Table):
                out.add(rows)
                pos += size
                continue
            good = _readable_prefix(table, pos, size)
            if good:
                out.add(_read(table, pos, good))
                pos += good
            pos = _next_readable(table, pos + 1, end)
    out.flush()
    return out.rows


def _fragment_ranges(table: Any, n: int) -> list[tuple[int, int]]:
    """The offset range of each fragment: runs of equal fragment ids in the row addresses
    (fragment << 32 | row), which LanceDB serves from metadata even when a data file is gone.
    Where it cannot (a damaged deletion file), the whole table is one range."""
    starts = [0]
    last: int | None = None  # the fragment of the previous batch's last row
    try:
        for offset in range(0, n, _ADDRESS_CHUNK):
            batch = table.search().select(["_rowaddr"]).offset(offset).limit(_ADDRESS_CHUNK).to_arrow()
            fragments = batch.column(0).to_numpy() >> 32
            if not len(fragments):
                break
            if last is not None and fragments[0] != last:
                starts.append(offset)
            starts.extend(int(offset + c) for c in np.flatnonzero(np.diff(fragments)) + 1)
            last = int(fragments[-1])
    except DatabaseDamagedError:
        return [(0, n)]
    return list(zip(starts, [*starts[1:], n]))


def _readable_prefix(table: Any, start: int, size: int) -> int:
    """How many rows from ``start`` read (rows ``start..start+size`` do not all read)."""
    good, bad = 0, size
    while bad - good > 1:
        middle = (good + bad) // 2
        if isinstance(_try_read(table, start, middle), pa.Table):
            good = middle
        else:
            bad = middle
    return good


def _next_readable(table: Any, start: int, end: int) -> int:
    """The first row from ``start`` (the row before it does not read) that reads; ``end`` if
    none does. Galloping: rows start, start+1, start+3, start+7..., then bisection, so a damaged
    range of k rows costs about 2·log2(k) one-row reads."""
    bad, step = start - 1, 1
    while start <= end - 1:
        probe = min(bad + step, end - 1)
        if isinstance(_try_read(table, probe, 1), pa.Table):
            while probe - bad > 1:
                middle = (bad + probe) // 2
                if isinstance(_try_read(table, middle, 1), pa.Table):
                    probe = middle
                else:
                    bad = middle
            return probe
        if probe == end - 1:
            return end
        bad, step = probe, step * 2
    return end


def _try_read(table: Any, start: int, size: int, columns: list[str] | None = None) -> pa.Table | str:
    """The rows, or the cause of the failure to read them."""
    try:
        return _read(table, start, size, columns)
    except DatabaseDamagedError as err:
        return err.cause


def _read(table: Any, start: int, size: int, columns: list[str] | None = None) -> pa.Table:
    query = table.search().offset(start).limit(size)
    return (query.select(columns) if columns else query).to_arrow()


def _chunk_rows(folder: str, rows: int) -> int:
    """Rows per read: about 8 MB of the table as stored (a keyframe row is a JPEG of ~100 KB)."""
    per_row = folder_size(os.path.join(folder, "data")) / max(rows, 1)
    return int(max(16, min(65536, _CHUNK_BYTES / max(per_row, 1.0))))


class _SalvageWriter:
    """Appends salvaged rows to a fresh table in commits of about 8 MB (one fragment each)."""

    def __init__(self, store: Store, name: str, table_schema: pa.Schema) -> None:
        self.table = store._db.create_table(name, schema=table_schema)
        self.pending: list[pa.Table] = []
        self.rows = 0

    def add(self, rows: pa.Table) -> None:
        self.pending.append(rows)
        self.rows += rows.num_rows
        if sum(t.nbytes for t in self.pending) >= _CHUNK_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.table.add(pa.concat_tables(self.pending))
            self.pending = []


# -- (c): what the tables lost, for the contents and the files ---------------------------------


def _reconcile(store: Store, report: RepairReport) -> None:
    media = store._read("media", PROBE_COLUMNS["media"])
    tables = {name: store._read(name, PROBE_COLUMNS[name]) for name in schema.CONTENT_TABLES}
    incomplete = {cid for short in short_contents(media, tables).values() for cid, _, _ in short}
    lost_content = any(t.table in schema.CONTENT_TABLES and t.rows_lost != 0 for t in report.tables)
    if lost_content:  # media rows without counts (older databases) cannot tell: index them again
        unknown = media.filter(pc.is_null(media.column("row_counts")))
        incomplete |= set(unknown.column("content_id").to_pylist())
    store.contents.drop(sorted(incomplete))
    report.contents_dropped = len(incomplete)
    store.contents.sweep()
    for done in report.tables:
        if done.table in _LOSSES and done.rows_lost != 0:
            count = "an unknown number of" if done.rows_lost is None else f"{done.rows_lost} of the"
            report.lost.append(f"{count} {_LOSSES[done.table]}")


def _reindex(store: Store, report: RepairReport, progress: Callable[..., Any] | None) -> None:
    """Index again the files whose content lost its media row (in this repair or before)."""
    from refcli.index import run_index

    media = set(store.contents.media())
    wanted = sorted(path for path, record in store.contents.files().items()
                    if record.gone_at is None and record.error is None and record.content_id
                    and record.content_id not in media)
    report.reindexed = [p for p in wanted if os.path.lexists(p)]
    report.vanished = [p for p in wanted if not os.path.lexists(p)]
    if report.reindexed:
        options = index_options(store)
        report.index = run_index(report.reindexed, store, options, progress=progress)
        for table, (what, flag, option) in _OPT_IN.items():
            if not getattr(options, option) and any(t.table == table and t.rows_lost != 0 for t in report.tables):
                report.lost.append(f"{what} of the files indexed again: `refcli index {flag}` stores them again")


def index_options(store: Store) -> IndexOptions:
    """The settings the database was indexed with (refcli.config), the defaults where they are
    not kept or could not be read."""
    from refcli.config import IndexSettings
    from refcli.index import IndexOptions

    try:
        settings = store.index_settings()
    except (ValueError, TypeError):  # a damaged meta value
        settings = None
    return IndexOptions.of(settings or IndexSettings())


# -- helpers -----------------------------------------------------------------------------------


def _refuse_foreign(store: Store) -> None:
    """Repair only a refcli database this refcli understands."""
    if not any(os.path.isdir(_folder(store, name)) for name in ("files", "media")):
        raise StoreError(f"{store.path} is not a refcli database (no files or media table): nothing to repair")
    try:
        version = store._schema_version()
    except StoreError:
        return  # unreadable, or without its version: meta is repaired like any table
    if version > schema.SCHEMA_VERSION:
        raise SchemaTooNewError(f"database {store.path} has schema v{version}, newer than this refcli "
                                f"understands (v{schema.SCHEMA_VERSION}): repair it with a newer refcli")


def _restore_version(store: Store) -> None:
    """meta lost its schema version (or it cannot be read as one): the tables tell it, when they
    have this version's columns."""
    media = store._table("media").schema
    if set(schema.MEDIA.names) <= set(media.names):
        store._put_meta("schema_version", str(schema.SCHEMA_VERSION))
        return
    raise StoreError(f"database {store.path}: its schema version was lost and its tables are not those of "
                     f"schema v{schema.SCHEMA_VERSION}: restore the folder from a backup")


def _finish_interrupted_salvage(store: Store, aside: str) -> None:
    """A salvage table left by a repair that was interrupted: complete if the damaged table was
    already moved aside (that happens only once the copy is whole), so it takes its place;
    otherwise never trusted, and moved aside."""
    for entry in os.listdir(store.path):
        if entry.endswith(f"{_SALVAGE}.lance"):
            target = os.path.join(store.path, entry.removesuffix(f"{_SALVAGE}.lance") + ".lance")
            if os.path.exists(target):
                _move_aside(os.path.join(store.path, entry), aside)
            else:
                os.rename(os.path.join(store.path, entry), target)


def _folder(store: Store, name: str) -> str:
    return os.path.join(store.path, f"{name}.lance")


def _unique(path: str) -> str:
    """``path``, or ``path``-2, -3... if a repair in the same second made it already."""
    candidate, n = path, 1
    while os.path.exists(candidate):
        n += 1
        candidate = f"{path}-{n}"
    return candidate


def _move_aside(path: str, folder: str) -> str:
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, os.path.basename(path))
    shutil.move(path, target)
    return target

