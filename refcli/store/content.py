"""`Store.contents`: what was indexed — files, their contents, and each content's frames, tracks,
keyframes and the features' own rows (faces, poses) — written by `index` and read by `find`, `show` and `export`.

A file (a path, table ``files``) holds a content (table ``media``, keyed by the hash of the bytes,
so copies share one). A content's rows in the content tables (schema.CONTENT_TABLES) carry the
generation they were written under; ``media.generation`` names the current one. `commit` writes
the content rows first and switches the media row last, so a reader never sees half a file; the
rows of superseded generations wait for `sweep`.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from refcli import faults
from refcli.errors import StoreError
from refcli.io.discover import Fingerprint, db_path, real_path
from refcli.store import schema, sql

if TYPE_CHECKING:
    from refcli.store.store import Store
    from refcli.track import Rows

__all__ = ["Contents", "ContentCounts", "Current", "Failure", "FileRecord", "FileRow", "KeyframeRow", "MediaRecord",
           "MediaRow", "TrackKey", "grouped_rows", "matching_rows"]

TAKE_ROWS_MAX = 1000
"""Up to this many track rows are read by address (1000 took 9 ms of 100,000 tracks, 25,000
took 179 ms: a scan of the asked columns is cheaper then)."""

TrackKey = tuple[str, int, int]
"""(content id, generation, track id): a track of one generation of one content."""


class FileRow(TypedDict):
    """One row of the files table (schema.FILES): a path, what it held when last seen, its error."""

    path: str
    content_id: str | None
    kind: str
    size: int
    mtime_ns: int
    mode: int
    error: str | None
    seen_at: float
    gone_at: float | None


class RowCount(TypedDict):
    table: str
    rows: int


class MediaRow(TypedDict):
    """One row of the media table (schema.MEDIA): a content, how indexing it ended, its current generation."""

    content_id: str
    kind: str
    status: str  # "ok" | "failed"
    error: str | None
    warnings: list[str]
    signature: str
    generation: int
    decoder: str
    width: int | None
    height: int | None
    duration: float | None
    samples: int
    people: int
    indexed_at: float
    refcli_version: str
    full_hash: str | None
    row_counts: list[RowCount]
    joins: list[int] | None


@dataclass(frozen=True)
class FileRecord:
    path: str
    content_id: str | None
    kind: str
    fingerprint: Fingerprint
    error: str | None
    gone_at: float | None = None

    def row(self, **changes: Any) -> FileRow:
        """The files-table row of this record, with ``changes``."""
        fp = self.fingerprint
        row: FileRow = {"path": self.path, "content_id": self.content_id, "kind": self.kind, "size": fp.size,
               "mtime_ns": fp.mtime_ns, "mode": fp.mode, "error": self.error, "seen_at": time.time(),
               "gone_at": self.gone_at}
        row.update(changes)  # type: ignore[typeddict-item]
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


class SampledFrameRow(TypedDict):
    """The columns every row about one sampled frame starts with (frames, keyframes)."""

    content_id: str
    generation: int
    sample: int
    time: float | None
    width: int
    height: int


class KeyframeRow(SampledFrameRow):
    """A stored keyframe (schema.KEYFRAMES)."""

    scale: float  # keyframe pixels per displayed pixel
    jpeg: bytes


class Failure(TypedDict):
    """A file that could not be indexed (`refcli errors`)."""

    path: str
    error: str


@dataclass(frozen=True)
class ContentCounts:
    """What the database holds, for `refcli status` (files gone are not counted as present)."""

    files: int
    images: int
    videos: int
    gone: int
    contents: int
    frames: int
    tracks: int  # tracks of current generations (not those awaiting a sweep)
    people: int
    failures: list[Failure]  # by path


@dataclass(frozen=True)
class Current:
    """What a query answers from: the media rows (content_id, generation, kind, width, height,
    joins) of each indexed content that some present file holds, and those files (path as stored,
    content_id), by path. Paths are turned into real ones only for the contents asked about."""

    media: pa.Table
    files: pa.Table

    @cached_property
    def paths(self) -> dict[str, list[str]]:
        """Every content's sorted real paths (the frames path judges every content)."""
        return self._paths(self.files)

    def paths_of(self, content_ids: Collection[str]) -> dict[str, list[str]]:
        """The sorted real paths of these contents only."""
        files = self.files.filter(pc.is_in(self.files.column("content_id"),
                                           value_set=pa.array(list(content_ids), pa.string())))
        return self._paths(files)

    @staticmethod
    def _paths(files: pa.Table) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for path, content_id in zip(files.column("path").to_pylist(), files.column("content_id").to_pylist()):
            out.setdefault(content_id, []).append(path)
        if not pc.any(pc.match_substring(files.column("path"), "\x00")).as_py():
            return out  # stored by path, sorted as the real paths are
        return {cid: sorted(real_path(p) for p in paths) for cid, paths in out.items()}

    def path_order(self) -> npt.NDArray[np.int64]:
        """Per media row, the rank of its first path among every content's first path (hits are
        ordered by it): vectorised, as stored paths sort as the real ones do but for names that
        are not UTF-8 (refcli.io.discover.db_path), which are sorted here in Python."""
        firsts = pc.index_in(self.media.column("content_id"), value_set=self.files.column("content_id"))
        order = firsts.to_numpy(zero_copy_only=False).astype(np.int64)
        if pc.any(pc.match_substring(self.files.column("path"), "\x00")).as_py():
            paths = self.paths
            first = [paths[c][0] for c in self.media.column("content_id").to_pylist()]
            order = np.argsort(np.argsort(np.array(first, dtype=object), kind="stable"))
        return order

    def joins(self) -> tuple[dict[tuple[str, int], dict[int, int]], set[tuple[str, int]]]:
        """The pieces of tracks that make one person (refcli.relink), as indexing worked them out:
        per video generation with any, track -> the track that continues it; and the video
        generations indexed before schema v13, for which nobody worked them out."""
        media = self.media.filter(pc.equal(self.media.column("kind"), "video"))
        lengths = pc.list_value_length(media.column("joins"))
        known = media.filter(pc.fill_null(pc.greater(lengths, 0), False))
        unknown = media.filter(pc.is_null(media.column("joins")))
        out = {(cid, gen): dict(zip(pairs[::2], pairs[1::2])) for cid, gen, pairs in zip(
            *(known.column(n).to_pylist() for n in ("content_id", "generation", "joins")))}
        return out, set(zip(unknown.column("content_id").to_pylist(), unknown.column("generation").to_pylist()))


class Contents:
    """The indexed files and contents of one Store: their rows, written and read."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- writing (inside Store.writer()) -----------------------------------------------------

    def commit(self, rows: Rows | None = None, media: Iterable[MediaRow] = (),
               files: Iterable[FileRow] = ()) -> None:
        """Write content rows, then media rows (the generation switch), then file rows.

        Content rows may belong to files still being indexed: their generation is not
        current until a later commit switches their media row, so readers ignore them.
        """
        self._store._require_writer()
        media, files = list(media), list(files)
        if rows is not None:
            for name in rows.TABLES:
                data = rows.table(name)
                if data:
                    self._store._table(name).add(pa.Table.from_pylist(data, schema=schema.TABLES[name]))
                    faults.point("between-writes")
        faults.point("before-switch")
        if media:
            self._upsert("media", "content_id", media, schema.MEDIA)
        if files:
            self._upsert("files", "path", [{**row, "path": db_path(row["path"])} for row in files], schema.FILES)

    def _upsert(self, name: str, key: str, rows: Sequence[Mapping[str, Any]], table_schema: pa.Schema) -> None:
        latest = {row[key]: row for row in rows}  # last write wins
        data = pa.Table.from_pylist(list(latest.values()), schema=table_schema)
        (self._store._table(name).merge_insert(key).when_matched_update_all()
         .when_not_matched_insert_all().execute(data))

    def sweep(self) -> int:
        """Delete rows no reader can reach: superseded generations and content no file points to.

        Returns the number of contents whose rows were removed.
        """
        self._store._require_writer()
        referenced = set(self._store._read("files", ["content_id"]).column("content_id").drop_null().to_pylist())
        media = self._store._read("media", ["content_id", "generation"]).to_pylist()
        orphans = [m["content_id"] for m in media if m["content_id"] not in referenced]
        current = {(m["content_id"], m["generation"]) for m in media if m["content_id"] in referenced}
        if orphans:
            self._store._table("media").delete(f"content_id IN ({sql.id_list(orphans)})")
        for name in schema.CONTENT_TABLES:
            pairs = self._store._read(name, ["content_id", "generation"])
            stale = {g for c, g in zip(pairs.column("content_id").to_pylist(),
                                        pairs.column("generation").to_pylist()) if (c, g) not in current}
            for chunk in sql.chunks(sorted(stale), 500):
                # generations are unique across the database, so they alone name the rows
                self._store._table(name).delete(f"generation IN ({', '.join(str(int(g)) for g in chunk)})")
        return len(orphans)

    def drop(self, content_ids: list[str]) -> None:
        """Forget these contents' media rows: their files are decoded again by the next index
        (`refcli repair` does it to contents that lost rows); their rows are swept."""
        self._store._require_writer()
        for chunk in sql.chunks(content_ids, 500):
            self._store._table("media").delete(f"content_id IN ({sql.id_list(chunk)})")

    def prune(self, older_than_days: float = 0.0) -> int:
        """Forget files marked gone (for at least ``older_than_days``), then their unreachable content."""
        self._store._require_writer()
        cutoff = time.time() - older_than_days * 86400
        files = self._store._table("files")
        before = files.count_rows()
        files.delete(f"gone_at IS NOT NULL AND gone_at <= {float(cutoff)!r}")
        removed = before - files.count_rows()
        if removed:
            self.sweep()
        return removed

    # -- files and contents ------------------------------------------------------------------

    def files(self) -> dict[str, FileRecord]:
        out: dict[str, FileRecord] = {}
        for row in self._store._read("files").to_pylist():
            path = real_path(row["path"])
            out[path] = FileRecord(
                path=path, content_id=row["content_id"], kind=row["kind"],
                fingerprint=Fingerprint(row["size"], row["mtime_ns"], row["mode"]), error=row["error"],
                gone_at=row.get("gone_at"))
        return out

    def media(self) -> dict[str, MediaRecord]:
        columns = ["content_id", "kind", "status", "error", "signature", "generation", "full_hash"]
        return {row["content_id"]: MediaRecord(**row) for row in self._store._read("media", columns).to_pylist()}

    def lookup(self, prefix: str) -> tuple[MediaRecord, list[FileRecord]]:
        """The indexed content whose id starts with ``prefix``, and the files that held it, by path
        (with the fingerprints they were indexed with)."""
        matches = [m for cid, m in self.media().items() if cid.startswith(prefix.lower())]
        if len(matches) != 1:
            raise StoreError(f"{'no' if not matches else 'more than one'} indexed file has an id starting "
                             f"with {prefix!r}: copy the hit id from `refcli find`")
        record = matches[0]
        files = sorted((r for r in self.files().values() if r.content_id == record.content_id), key=lambda r: r.path)
        return record, files

    def failures(self) -> list[Failure]:
        """Files that could not be indexed, and why (`refcli errors`), by path."""
        return self._file_states()[3]

    def counts(self) -> ContentCounts:
        """What the database holds and which files failed (`refcli status`)."""
        present, gone, kinds, failures, media = self._file_states()
        ok = [m for m in media.values() if m["status"] == "ok"]
        tracks = self._current_rows("tracks", {(cid, m["generation"]) for cid, m in media.items()
                                               if m["status"] == "ok"})
        return ContentCounts(files=present, images=kinds["image"], videos=kinds["video"], gone=gone,
                             contents=len(media), frames=sum(m["samples"] or 0 for m in ok), tracks=tracks,
                             people=sum(m["people"] or 0 for m in ok), failures=failures)

    def _file_states(self) -> tuple[int, int, dict[str, int], list[Failure], dict[str, dict[str, Any]]]:
        """Files present, files gone, present files by kind, failures (by path) and media rows."""
        files = self._store._read("files", ["path", "content_id", "error", "gone_at"]).to_pylist()
        media = {row["content_id"]: row for row in self._store._read(
            "media", ["content_id", "kind", "status", "error", "people", "samples", "generation"]).to_pylist()}
        failures: list[Failure] = []
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
        pairs = self._store._read(name, ["content_id", "generation"])
        return sum(1 for key in zip(pairs.column("content_id").to_pylist(), pairs.column("generation").to_pylist())
                   if key in current)

    # -- what queries read -------------------------------------------------------------------

    def current(self) -> Current:
        """The contents a query answers from, read once (the media table is read first: a writer
        switching a generation meanwhile leaves the old rows in place until its sweep, so the
        snapshot stays whole)."""
        media = self._store._read("media", ["content_id", "generation", "kind", "width", "height", "status",
                                            "joins"])
        media = media.filter(pc.equal(media.column("status"), "ok")).drop_columns(["status"])
        files = self._store._read("files", ["path", "content_id", "gone_at"])
        files = files.filter(pc.and_(pc.is_valid(files.column("content_id")), pc.is_null(files.column("gone_at"))))
        files = files.select(["path", "content_id"])  # gone files are not answers
        media = media.filter(pc.is_in(media.column("content_id"), value_set=files.column("content_id")))
        return Current(media.combine_chunks(), files.take(pc.sort_indices(files.column("path"))).combine_chunks())

    def current_frame_batches(self, content_ids: Collection[str] | None = None, current: Current | None = None
                              ) -> tuple[Iterator[pa.Table], dict[str, list[str]]]:
        """``current_frames`` in batches (of ``content_ids`` only, if given), read as they are
        used: a query over millions of frames holds one batch of them. ``current``: the
        snapshot to read them by, where the caller took one already (read now otherwise)."""
        current = current or self.current()
        media = current.media.select(["content_id", "generation", "kind"])
        if content_ids is not None:
            media = media.filter(pc.is_in(media.column("content_id"), pa.array(sorted(content_ids), pa.string())))
        batches = (_of_current(batch, media) for batch in self._store._scan("frames"))
        return batches, current.paths if content_ids is None else current.paths_of(content_ids)

    def current_frames(self) -> tuple[pa.Table, dict[str, list[str]]]:
        """Frames of the current generation of every indexed content that some path points to.

        Returns the frames (plus a ``kind`` column) and, per content id, its sorted paths.
        The media table is read first: a writer switching a generation meanwhile leaves the
        old rows in place until its sweep, so this snapshot stays whole.
        """
        current = self.current()
        frames = self._store._read("frames")
        return _of_current(frames, current.media.select(["content_id", "generation", "kind"])), current.paths

    def current_tracks(self, media: pa.Table, columns: Sequence[str],
                       contents: Sequence[str] | None = None, row_ids: bool = False) -> pa.Table:
        """Some columns of the tracks of the current generations (``media``, from ``current``),
        in the store's order; of ``contents`` only, if given (read through the content id index);
        with ``row_ids``, each row's address (``_rowid``: ``track_rows`` reads more of them)."""
        where = None if contents is None else \
            f"content_id IN ({', '.join(repr(sql.checked_id(c)) for c in contents)})"
        if contents is not None and not contents:
            where = "content_id IS NULL"  # no content: no row
        tracks = self._store._read("tracks", list(dict.fromkeys(["content_id", "generation", *columns])), where,
                                   row_ids=row_ids)
        return _of_current(tracks, media.select(["content_id", "generation"]))

    def track_rows(self, media: pa.Table, tracks: pa.Table, columns: Sequence[str]) -> pa.Table:
        """``tracks`` (rows of ``current_tracks(row_ids=True)``) with more of their columns: a
        few read by address, many in one scan matched by address, and by their keys where the
        addresses moved (the table compacted since)."""
        keys = ["content_id", "generation", "track"]
        wanted = [c for c in columns if c not in tracks.column_names]
        if not wanted:
            return tracks
        if tracks.num_rows <= TAKE_ROWS_MAX:
            taken = self._store._take("tracks", tracks.column("_rowid").to_pylist(), [*keys, *wanted])
        else:
            more = self._store._read("tracks", [*keys, *wanted], row_ids=True)
            taken = more.take(pc.index_in(tracks.column("_rowid"), value_set=more.column("_rowid")))
        if all(pc.all(pc.fill_null(pc.equal(tracks.column(k), taken.column(k)), False)).as_py() for k in keys):
            return _appended(tracks, taken, wanted)
        more = self.current_tracks(media, ["track", *wanted])
        mine, theirs = matching_rows(tracks, more, keys)
        return _appended(tracks.take(mine), more.take(theirs), wanted)

    def tracks(self, content_id: str, generation: int,
               tracks: Iterable[int] | None = None) -> dict[int, dict[str, Any]]:
        """Track rows of one content generation (all, or the given track ids), by track id."""
        where = f"content_id = '{sql.checked_id(content_id)}' AND generation = {int(generation)}"
        wanted = sorted({int(t) for t in tracks}) if tracks is not None else None
        if wanted is not None:
            if not wanted:
                return {}
            where += f" AND track IN ({', '.join(map(str, wanted))})"
        return {row["track"]: row for row in self._store._read("tracks", where=where).to_pylist()}

    def count(self, name: str) -> int:
        """Rows of a content table, of every generation (0 where the table is not there yet)."""
        _require_content_table(name)
        if name not in self._store._tables and name not in self._store._table_names():  # listing costs ms
            return 0
        return int(self._store._table(name).count_rows())

    def track_scores(self, generations: npt.ArrayLike | None = None) -> dict[TrackKey, float]:
        """The best detector score of every track (of these content generations only, if given):
        whether it is a person (find's min_score)."""
        columns = ["content_id", "generation", "track", "score"]
        table = self._store._read("tracks", columns)
        if generations is not None:
            table = table.filter(pc.is_in(table.column("generation"), value_set=pa.array(generations, pa.int64())))
        return {(c, g, t): score for c, g, t, score in zip(*(table.column(n).to_pylist() for n in columns))}

    def read(self, name: str, columns: list[str], where: str | None = None) -> pa.Table:
        """Some columns of a content table (all generations, or the rows ``where`` selects): how a
        feature's reader gets what the feature stored (refcli.features)."""
        _require_content_table(name)
        return self._store._read(name, columns, where)

    def track_samples(self, wanted: dict[tuple[str, int], set[int]]) -> dict[tuple[str, int], list[int]]:
        """Sample lists of the given tracks ((content, generation) -> track ids), in one scan."""
        if not wanted:
            return {}
        table = self._store._read("tracks", ["content_id", "generation", "track", "samples"])
        table = table.filter(pc.is_in(table.column("generation"), value_set=pa.array(  # those contents' rows only
            sorted({gen for _, gen in wanted}), pa.int64())))
        out = {}
        for cid, gen, track, samples in zip(*(table.column(n).to_pylist()
                                              for n in ("content_id", "generation", "track", "samples"))):
            if track in wanted.get((cid, gen), ()):
                out[(cid, track)] = samples
        return out

    def keyframe_samples(self) -> dict[tuple[str, int], set[int]]:
        """Which samples of each content generation have a stored keyframe."""
        out: dict[tuple[str, int], set[int]] = {}
        table = self._store._read("keyframes", ["content_id", "generation", "sample"])
        for cid, gen, sample in zip(*(table.column(n).to_pylist() for n in ("content_id", "generation", "sample"))):
            out.setdefault((cid, gen), set()).add(sample)
        return out

    def keyframe(self, content_id: str, generation: int, sample: int) -> KeyframeRow | None:
        where = (f"content_id = '{sql.checked_id(content_id)}' AND generation = {int(generation)} "
                 f"AND sample = {int(sample)}")
        rows: list[KeyframeRow] = self._store._read("keyframes", where=where).to_pylist()
        return rows[0] if rows else None


def matching_rows(left: pa.Table, right: pa.Table, keys: Sequence[str]) -> tuple[pa.Array, pa.Array]:
    """The row numbers of each pair of rows of ``left`` and ``right`` with equal ``keys``, in
    ``left``'s order (then ``right``'s). Arrow joins cannot carry nested columns: join the keys
    only, then take the rows with these."""
    mine = left.select(list(keys)).append_column("_left", pa.array(range(left.num_rows), pa.int64()))
    theirs = right.select(list(keys)).append_column("_right", pa.array(range(right.num_rows), pa.int64()))
    pairs = mine.join(theirs, keys=list(keys), join_type="inner").sort_by([("_left", "ascending"),
                                                                           ("_right", "ascending")])
    return pairs.column("_left").combine_chunks(), pairs.column("_right").combine_chunks()


def grouped_rows(left: pa.Table, right: pa.Table, keys: Sequence[str]) -> tuple[pa.Array, pa.Array]:
    """For each row of ``left``, the rows of ``right`` with equal ``keys``: list offsets (one more
    than ``left``'s rows) into the ``right`` row numbers returned with them, in ``right``'s order
    within each. How a feature's own table (faces, poses) becomes a list column of track rows."""
    rows, of_right = matching_rows(left, right, keys)
    offsets = np.concatenate([[0], np.cumsum(np.bincount(rows.to_numpy(), minlength=left.num_rows))])
    return pa.array(offsets.astype(np.int32)), of_right


def _of_current(rows: pa.Table, current: pa.Table) -> pa.Table:
    """The rows of a content table whose (content_id, generation) is in ``current``, in order, with
    ``current``'s other columns appended. Found by generation (an integer, unique to one content),
    then the content ids checked: no string join over every row."""
    at = pc.index_in(rows.column("generation"), value_set=current.column("generation"))
    keep = at.is_valid()
    if "content_id" in rows.column_names:
        same = pc.equal(rows.column("content_id"), current.column("content_id").take(at))  # null where not current
        keep = pc.and_(keep, pc.fill_null(same, False))
    out, at = rows.filter(keep), at.filter(keep)
    for name in current.column_names:
        if name not in ("content_id", "generation"):
            out = out.append_column(name, current.column(name).take(at))
    return out


def _appended(rows: pa.Table, more: pa.Table, columns: Sequence[str]) -> pa.Table:
    for name in columns:
        rows = rows.append_column(name, more.column(name))
    return rows


def _require_content_table(name: str) -> None:
    if name not in schema.CONTENT_TABLES:
        raise StoreError(f"{name!r} is not a content table")
