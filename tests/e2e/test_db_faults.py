"""Database faults, for real: a database made by `refcli index`, damaged on disk the ways disks and
people damage it, then used by real `refcli` processes. Each fault must cost one line and the
documented exit code (3), `status` must notice it, and `refcli repair` must bring back exactly what
`find` answered before.

How the faults are made real, also as root (CI runs as root, where chmod stops nothing):
- damaged tables: data files deleted or truncated, `_versions` removed, the newest manifest
  truncated, with the same LanceDB that refcli uses;
- a full disk: the child runs with RLIMIT_FSIZE (SIGXFSZ ignored), so its writes past the limit
  fail in the kernel with EFBIG, as they would with ENOSPC on a full disk: no mount, no root needed;
- a read-only database: the folder is made read-only with chmod and, as root, the child drops the
  two capabilities that let root ignore file permissions (as tests/e2e/test_cli.py does).

What a fault costs and how repair answers are real processes; comparing `find`'s answers before and
after, and the steps that merely set up or finish a case, run the same commands in this process
(CliRunner): each process costs ~2.5 s of CPU, most of it importing lancedb.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pytest
from test_cli import _without_root_file_powers, run_refcli
from typer.testing import CliRunner

from refcli.cli.app import app
from refcli.store import Store, schema
from refcli.store.repair import _fragment_ranges, _salvage


def hits(db: Path) -> list[tuple]:
    """What `find person --json --limit 0` answers: every hit's id, box and score."""
    result = CliRunner().invoke(app, ["find", "person", "--db", str(db), "--json", "--limit", "0"])
    assert result.exit_code == 0, result.output
    return sorted((h["id"], tuple(round(v, 1) for v in h["box"]), round(h["score"], 3))
                  for h in json.loads(result.stdout)["hits"])


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, data_dir: Path) -> tuple[Path, Path, list[tuple]]:
    """Two photos and a video, indexed once: (media folder, database, what find answers)."""
    root = tmp_path_factory.mktemp("faults")
    media = root / "media"
    media.mkdir()
    for name in ("messi5.jpg", "astronaut.jpg", "vtest_4s.mp4"):
        shutil.copy(data_dir / name, media / name)
    db = root / "db"
    proc = run_refcli("index", str(media), "--db", str(db))
    assert proc.returncode == 0, proc.stderr
    return media, db, hits(db)


@pytest.fixture()
def copy(indexed, tmp_path: Path) -> Path:
    db = tmp_path / "db"
    shutil.copytree(indexed[1], db)
    return db


def data_files(db: Path, table: str) -> list[Path]:
    return sorted((db / f"{table}.lance" / "data").glob("*.lance"), key=lambda p: p.stat().st_size)


def delete_data_file(db: Path, table: str) -> None:
    data_files(db, table)[-1].unlink()


def truncate_data_file(db: Path, table: str) -> None:
    path = data_files(db, table)[-1]
    os.truncate(path, path.stat().st_size // 2)


def remove_versions(db: Path, table: str) -> None:
    shutil.rmtree(db / f"{table}.lance" / "_versions")


def truncate_manifest(db: Path, table: str) -> None:
    """The newest manifest: Lance names them 2^64 - 1 - version, so it sorts first."""
    newest = sorted((db / f"{table}.lance" / "_versions").glob("*.manifest"))[0]
    os.truncate(newest, newest.stat().st_size // 2)


def one_line(proc, code: int, *words: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("refcli: error: "), proc.stderr
    for word in words:
        assert word in proc.stderr, (word, proc.stderr)


def in_parallel(*commands: tuple[str, ...]) -> list:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda args: run_refcli(*args), commands))


FAULTS: list[tuple[str, Callable[[Path, str], None], str, str]] = [
    ("tracks", delete_data_file, "cannot be read", "missing file tracks.lance/data/"),
    ("keyframes", truncate_data_file, "cannot be read", "truncated"),
    ("media", remove_versions, "cannot be opened", "_versions"),
    ("tracks", truncate_manifest, "cannot be opened", "truncated"),
]


def test_each_damaged_table_is_reported_then_repaired(indexed, tmp_path: Path) -> None:
    """Each fault in its own copy of the database; the copies' processes run side by side (one
    test rather than four, so that they can: each process costs seconds)."""
    media, db, before = indexed
    copies = []
    for table, damage, _, _ in FAULTS:
        copies.append(tmp_path / f"{damage.__name__}-{table}")
        shutil.copytree(db, copies[-1])
        damage(copies[-1], table)
    first = str(copies[0])  # deleted tracks rows: where `index` used to say "3 unchanged"
    report = ("find", "person", "--db", str(copies[1]), "--html", str(tmp_path / "report.html"))  # keyframes
    *statuses, found, again, pictures = in_parallel(*(("status", "--db", str(c), "--json") for c in copies),
                                                    ("find", "person", "--db", first),
                                                    ("index", str(media), "--db", first), report)
    for (table, damage, kind, cause), status in zip(FAULTS, statuses):
        assert status.returncode == 3, (damage.__name__, status.stderr)
        problems = json.loads(status.stdout)["problems"]
        assert [(p["table"], p["kind"]) for p in problems] == [(table, kind)], (damage.__name__, problems)
        assert cause in problems[0]["detail"], (damage.__name__, problems)
    for proc in (found, again):
        one_line(proc, 3, "table 'tracks'", "missing file", "refcli repair")
    one_line(pictures, 3, "table 'keyframes'", "refcli repair")  # not a report of "picture unavailable"

    repairs = in_parallel(*(("repair", "--db", str(c), "--json") for c in copies))
    for (table, damage, _, _), copy, repaired in zip(FAULTS, copies, repairs):
        assert repaired.returncode == 0, (damage.__name__, repaired.stderr)
        report = json.loads(repaired.stdout)
        assert [t["table"] for t in report["tables"]] == [table] and report["healthy"], (damage.__name__, report)
        assert report["reindexed"] and report["lost"] == [], (damage.__name__, report)
        assert any((copy / "damaged").rglob("*")), "the damaged files are moved aside, not deleted"
        assert hits(copy) == before, damage.__name__  # the same answers, nothing doubled
        assert_current_rows_only(copy)
    second = CliRunner().invoke(app, ["repair", "--db", first])
    assert second.exit_code == 0 and second.stdout.startswith("nothing to repair"), second.output


def assert_current_rows_only(db: Path) -> None:
    store = Store.open(str(db))
    assert store.check().ok
    current = {(cid, m.generation) for cid, m in store.contents.media().items()}
    for name in schema.CONTENT_TABLES:
        rows = store._read(name, ["content_id", "generation"]).to_pylist()
        assert {(r["content_id"], r["generation"]) for r in rows} <= current, f"unreachable {name} rows remain"


def test_every_command_says_one_line(indexed, copy: Path, tmp_path: Path) -> None:
    """media, watches and gallery unreadable: every command touches one of them."""
    media, _, before = indexed
    hit = before[0][0]
    delete_data_file(copy, "media")
    remove_versions(copy, "watches")
    remove_versions(copy, "gallery")
    db = ("--db", str(copy))
    commands = [("index", str(media), "--wait", "60"),  # waits for scan: one writer at a time
                ("scan", str(media), "--settle", "0"), ("find", "person"), ("errors",),
                ("show", hit, "-o", str(tmp_path / "hit.png")), ("export", "person", "--clips", str(tmp_path / "c")),
                ("watch", "list"), ("faces", "list"), ("status",), ("doctor",)]
    for args, proc in zip(commands, in_parallel(*((*c, *db) for c in commands))):
        if args[0] in ("status", "doctor"):  # they list the problems, then exit 3
            assert proc.returncode == 3 and "Traceback" not in proc.stderr, (args, proc.stderr)
            assert "table 'media'" in proc.stdout + proc.stderr and "refcli repair" in proc.stdout + proc.stderr
        else:
            one_line(proc, 3, "is damaged", "refcli repair")

    repaired = run_refcli("repair", *db)
    assert repaired.returncode == 0, repaired.stderr
    assert "table 'media': salvaged" in repaired.stdout and "table 'watches': recreated" in repaired.stdout
    assert "cannot come back: an unknown number of standing queries" in repaired.stdout
    assert "cannot come back: an unknown number of enrolled face photos" in repaired.stdout
    assert_current_rows_only(copy)


def _full_disk(limit: int) -> Callable[[], None]:
    def limited() -> None:  # in the child, before exec
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), not the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return limited


def test_full_disk_mid_index_keeps_what_was_indexed(indexed, tmp_path: Path) -> None:
    media, _, before = indexed
    db = tmp_path / "db"
    photos = CliRunner().invoke(app, ["index", str(media / "messi5.jpg"), str(media / "astronaut.jpg"),
                                      "--db", str(db)])
    assert photos.exit_code == 0, photos.output
    # The video's keyframes (~500 KB in one data file) do not fit; the photos' rows (a few KB) did.
    full = run_refcli("index", str(media), "--db", str(db), preexec_fn=_full_disk(200_000))
    one_line(full, 3, "cannot write to table", "free some space and run the same command again")
    store = Store.open(str(db))
    assert store.check().ok and len(store.contents.files()) == 2  # consistent, not damaged; the photos kept
    again = CliRunner().invoke(app, ["index", str(media), "--db", str(db), "--json"])
    assert again.exit_code == 0, again.output
    assert (json.loads(again.stdout)["new"], json.loads(again.stdout)["unchanged"]) == (1, 2)
    assert hits(db) == before
    assert_current_rows_only(db)


def test_read_only_database_is_one_line_and_still_answers(indexed, copy: Path) -> None:
    media = indexed[0]
    for folder, dirs, files in os.walk(copy):
        for name in [*dirs, *files, "."]:
            path = os.path.join(folder, name)
            os.chmod(path, os.stat(path).st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    kwargs = {"preexec_fn": _without_root_file_powers} if os.geteuid() == 0 else {}
    try:
        # one at a time: preexec_fn is not safe in threads
        written = run_refcli("index", str(media / "messi5.jpg"), "--db", str(copy), **kwargs)
        found = run_refcli("find", "person", "--db", str(copy), "--json", "--limit", "0", **kwargs)
    finally:
        for folder, dirs, files in os.walk(copy):
            for name in [*dirs, *files, "."]:
                os.chmod(os.path.join(folder, name), 0o700)
    one_line(written, 3, "cannot write to database", "permission denied")
    assert found.returncode == 0 and len(json.loads(found.stdout)["hits"]) == len(indexed[2])


def test_bad_output_paths_are_refused_before_the_query(tmp_path: Path) -> None:
    """The database does not even exist: a path refused with exit 2 was checked before opening it."""
    folder, file = tmp_path / "folder", tmp_path / "file"
    folder.mkdir()
    file.write_text("x")
    db = ("--db", str(tmp_path / "no db"))
    cases = [(("find", "person", "--html", str(folder)), "is a folder"),
             (("find", "person", "--contact-sheet", str(folder)), "is a folder"),
             (("find", "person", "--thumbnails", str(file)), "is a file"),
             (("find", "person", "--html", str(file / "report.html")), "is a file, not a folder"),
             (("export", "person", "--clips", str(file)), "is a file"),
             (("show", "0123456789abcdef:0:0", "-o", str(folder)), "is a folder")]
    for (_, words), proc in zip(cases, in_parallel(*((*args, *db) for args, _ in cases))):
        one_line(proc, 2, words)


def test_salvage_keeps_exactly_the_rows_of_healthy_fragments_in_few_reads(tmp_path: Path) -> None:
    """40 fragments of 1 to 60 rows; five lose their data file (two of them side by side, and the
    last). Every other row is kept, with a number of reads far below one per row."""
    store = Store.open(str(tmp_path / "db"), create=True)
    folder = tmp_path / "db" / "tracks.lance" / "data"
    sizes = [1 + (7 * i) % 60 for i in range(40)]
    files, ids, next_id = [], [], 0
    with store.writer():
        for size in sizes:
            known = set(folder.glob("*.lance")) if folder.exists() else set()
            rows = [{"content_id": "ab" * 8, "generation": 1, "track": next_id + k} for k in range(size)]
            store._table("tracks").add(pa.Table.from_pylist(rows, schema=schema.TRACKS))
            (new,) = set(folder.glob("*.lance")) - known
            files.append(new)
            ids.append(list(range(next_id, next_id + size)))
            next_id += size
        lost = {3, 4, 17, 25, 39}
        for i in lost:
            files[i].unlink()
        table = store._table("tracks")
        assert len(_fragment_ranges(table, table.count_rows())) == 40
        counted = _Counting(table)
        kept = _salvage(store, "tracks", counted, table.count_rows(), chunk=16)
        salvaged = store._db.open_table("tracks_salvage").search().select(["track"]).limit(None).to_arrow()
    expected = sorted(t for i, group in enumerate(ids) if i not in lost for t in group)
    assert kept == len(expected) and sorted(salvaged.column("track").to_pylist()) == expected
    assert counted.reads < next_id // 4, (counted.reads, next_id)


class _Counting:
    """A table that counts the reads asked of it."""

    def __init__(self, table) -> None:
        self.table, self.reads = table, 0

    def search(self):
        self.reads += 1
        return self.table.search()

    def __getattr__(self, name: str):
        return getattr(self.table, name)


def test_programming_errors_are_not_passed_off_as_damage(indexed) -> None:
    """A bad filter is refcli's bug, not the database's: it is raised as LanceDB raised it."""
    store = Store.open(str(indexed[1]))
    with pytest.raises(ValueError, match="No field named"):
        store._read("tracks", ["content_id"], where="no_such_column = 1")
    assert store.check().ok


def test_a_garbled_schema_version_is_one_line_and_repair_restores_it(indexed, copy: Path) -> None:
    import lancedb

    lancedb.connect(str(copy)).open_table("meta").update(where="key = 'schema_version'", values={"value": "eight"})
    db = ("--db", str(copy))
    for proc in in_parallel(("find", "person", *db), ("index", str(indexed[0]), *db), ("status", *db)):
        one_line(proc, 3, "schema version reads 'eight'", "refcli repair")
    repaired = run_refcli("repair", *db)
    assert repaired.returncode == 0 and "schema version restored" in repaired.stdout, repaired.stderr
    assert hits(str(copy)) == indexed[2]
    assert "nothing to repair" in run_refcli("repair", *db).stdout
