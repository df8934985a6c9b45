"""`Store.check`: a cheap look at every table, for `status`, `doctor` and before `index` and `scan`.

Opening a table reads its newest manifest and counting its rows reads only metadata, so a data
file that is missing or truncated shows only when rows are read. The check therefore reads one
light column of every table in full (content ids and generations, never the keyframe JPEGs),
which touches every data file, and compares the rows each current content generation holds with
the counts its media row recorded when it was indexed.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from refcli.errors import REPAIR_HINT, DatabaseDamagedError
from refcli.store import schema

if TYPE_CHECKING:
    from refcli.store.store import Store

MISSING = "is missing"
UNOPENABLE = "cannot be opened"
UNREADABLE = "cannot be read"
ROWS_MISSING = "lost rows"

# What the check reads of each table: light, and present in every data file of the table.
_KEYS = ["content_id", "generation"]
PROBE_COLUMNS: dict[str, list[str]] = {
    "meta": ["key"], "files": ["content_id"], "media": ["content_id", "generation", "status", "row_counts"],
    "gallery": ["name"], "people": ["person"], "person_faces": ["person"], "watches": ["query"],
    "seen_hits": ["key"], "verified": ["key"], "grounded": ["key"],
    **dict.fromkeys(schema.CONTENT_TABLES, _KEYS),
}


@dataclass(frozen=True)
class TableProblem:
    table: str
    kind: str  # MISSING, UNOPENABLE, UNREADABLE or ROWS_MISSING
    detail: str

    def __str__(self) -> str:
        return f"table '{self.table}' {self.kind} ({self.detail})"


@dataclass(frozen=True)
class Health:
    db: str
    problems: tuple[TableProblem, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dicts(self) -> list[dict[str, Any]]:
        return [asdict(p) for p in self.problems]

    def raise_for_damage(self) -> None:
        """Refuse to work on a damaged database (`index` and `scan` would call it unchanged)."""
        if not self.problems:
            return
        first = self.problems[0]
        more = len(self.problems) - 1
        also = f" and {more} more problem{'s' * (more != 1)} (see `refcli status`)" if more else ""
        raise DatabaseDamagedError(f"database {self.db} is damaged: {first}{also}; {REPAIR_HINT}",
                                   table=first.table, cause=first.detail)


def check(store: Store) -> Health:
    started = time.perf_counter()
    problems: list[TableProblem] = []
    read: dict[str, pa.Table] = {}
    existing = store._table_names()
    for name in schema.TABLES:
        if name not in existing:
            problems.append(TableProblem(name, MISSING, "its folder is gone"))
            continue
        try:
            store._table(name)
        except DatabaseDamagedError as err:
            problems.append(TableProblem(name, UNOPENABLE, err.cause))
            continue
        try:
            read[name] = store._read(name, PROBE_COLUMNS[name])
        except DatabaseDamagedError as err:
            problems.append(TableProblem(name, UNREADABLE, err.cause))
    if "media" in read:
        for name, short in short_contents(read["media"], read).items():
            lost = sum(want - have for _, want, have in short)
            problems.append(TableProblem(name, ROWS_MISSING, f"{lost} row{'s' * (lost != 1)} of {len(short)} "
                                         f"indexed file{'s' * (len(short) != 1)} are gone"))
    return Health(store.path, tuple(problems), round(time.perf_counter() - started, 4))


def short_contents(media: pa.Table, tables: dict[str, pa.Table]) -> dict[str, list[tuple[str, int, int]]]:
    """Per content table (among ``tables``): (content id, rows recorded, rows there) of each
    indexed content whose current generation holds fewer rows than its media row recorded.

    ``media`` needs content_id, generation, status and row_counts; each table content_id and
    generation. Media rows without counts are not judged here (there is nothing to compare).
    """
    ok = media.filter(pc.equal(media.column("status"), "ok"))
    counts = ok.column("row_counts")
    parents = pc.list_parent_indices(counts)
    flat = pc.list_flatten(counts)
    recorded = pa.table({"content_id": pc.take(ok.column("content_id"), parents),
                         "generation": pc.take(ok.column("generation"), parents),
                         "table": pc.struct_field(flat, "table"), "want": pc.struct_field(flat, "rows")})
    out: dict[str, list[tuple[str, int, int]]] = {}
    for name in schema.CONTENT_TABLES:
        if name not in tables:
            continue
        want = recorded.filter(pc.and_(pc.equal(recorded.column("table"), name),
                                       pc.greater(recorded.column("want"), 0))).drop_columns(["table"])
        if not want.num_rows:
            continue
        have = tables[name].select(_KEYS).group_by(_KEYS).aggregate([([], "count_all")])
        joined = want.join(have, keys=_KEYS, join_type="left outer")
        there = pc.fill_null(joined.column("count_all"), 0)
        short = joined.filter(pc.less(there, joined.column("want")))
        if short.num_rows:
            out[name] = [(cid, want_n, have_n or 0) for cid, want_n, have_n in zip(
                short.column("content_id").to_pylist(), short.column("want").to_pylist(),
                short.column("count_all").to_pylist())]
    return out
