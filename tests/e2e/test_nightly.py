"""Unattended runs: the writer lock, crash safety under kill -9, files in motion, standing queries."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from filelock import FileLock
from test_cli import run_refcli
from typer.testing import CliRunner

from refcli.cli.app import app
from refcli.store import Store, schema

runner = CliRunner()


def cli(*args: str, code: int = 0):
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result


@pytest.fixture()
def media(tmp_path: Path, data_dir: Path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    shutil.copy(data_dir / "vtest_4s.mp4", root / "plaza.mp4")
    shutil.copy(data_dir / "composite_walkers.mp4", root / "walkers.mp4")
    for name in ("messi5.jpg", "astronaut.jpg", "biden.jpg"):
        shutil.copy(data_dir / name, root / name)
    an_hour_ago = time.time() - 3600  # settled: not "in motion"
    for path in root.iterdir():
        os.utime(path, (an_hour_ago, an_hour_ago))
    return root


def snapshot(db: str) -> dict:
    """What readers can see: per path, the content's tracks and frames (no generation numbers)."""
    store = Store.open(db)
    frames, paths = store.contents.current_frames()
    out: dict = {}
    for cid, ps in paths.items():
        record = store.contents.media()[cid]
        tracks = store.contents.tracks(cid, record.generation)
        rows = [r for r in frames.to_pylist() if r["content_id"] == cid]
        samples = [r["sample"] for r in rows]
        assert len(samples) == len(set(samples)), "a frame appears twice"
        out[tuple(sorted(Path(p).name for p in ps))] = (
            sorted((t, v["samples"], [round(x, 2) for x in v["boxes"]]) for t, v in tracks.items()), sorted(samples))
    return out


def test_second_writer_waits_for_the_first(media: Path, tmp_path: Path) -> None:
    db = tmp_path / "db"
    Store.open(str(db), create=True)
    lock = FileLock(str(db / "writer.lock"), thread_local=False)  # released by the timer thread
    lock.acquire()
    threading.Timer(1.5, lock.release).start()
    started = time.monotonic()
    proc = run_refcli("index", str(media / "messi5.jpg"), "--db", str(db), "--wait", "60")
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started >= 1.5


def test_lock_of_a_killed_writer_is_taken_over(media: Path, tmp_path: Path) -> None:
    db = tmp_path / "db"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom refcli.store import Store\n"
        f"s = Store.open({str(db)!r}, create=True)\n"
        "with s.writer():\n    print('locked', flush=True)\n    time.sleep(600)\n")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    busy = run_refcli("index", str(media / "messi5.jpg"), "--db", str(db))
    assert busy.returncode == 75 and f"pid {holder.pid}" in busy.stderr
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    proc = run_refcli("index", str(media / "messi5.jpg"), "--db", str(db))
    assert proc.returncode == 0, proc.stderr


def test_readers_do_not_wait_for_the_writer(media: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    cli("index", str(media / "messi5.jpg"), "--db", db)
    store = Store.open(db)
    with store.writer():
        assert json.loads(cli("find", "person", "--db", db, "--json").stdout)["total"] == 1
        assert json.loads(cli("status", "--db", db, "--json").stdout)["files"] == 1


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data_dir: Path) -> dict:
    root = tmp_path_factory.mktemp("ref") / "media"
    root.mkdir()
    shutil.copy(data_dir / "vtest_4s.mp4", root / "plaza.mp4")
    shutil.copy(data_dir / "composite_walkers.mp4", root / "walkers.mp4")
    for name in ("messi5.jpg", "astronaut.jpg", "biden.jpg"):
        shutil.copy(data_dir / name, root / name)
    db = str(root.parent / "db")
    assert runner.invoke(app, ["index", str(root), "--db", db]).exit_code == 0
    return snapshot(db)


FAULT_POINTS = ["after-decode:12", "mid-batch:2", "between-writes:1", "between-writes:2", "between-writes:3",
                "before-switch:1", "before-switch:2"]


@pytest.mark.parametrize("how", ["KILL", "INT"])
@pytest.mark.parametrize("fault", FAULT_POINTS)
def test_kill_9_or_ctrl_c_then_rerun_finishes_with_nothing_lost_or_doubled(fault: str, how: str, media: Path,
                                                                            tmp_path: Path, reference: dict) -> None:
    """kill -9 (nothing runs after it) and Ctrl-C (the interrupt handler saves finished files) at
    every fault point: the re-run completes the index with every row once."""
    db = str(tmp_path / "db")
    env = {"REFCLI_FAULT": fault}
    if how == "INT":  # once: the interrupt handler's own commit must run through the fault point
        env.update(REFCLI_FAULT_SIGNAL="INT", REFCLI_FAULT_ONCE=str(tmp_path / "fired"))
    killed = run_refcli("index", str(media), "--db", db, env=env)
    if how == "KILL":
        assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)
    else:
        assert killed.returncode == 130, (killed.returncode, killed.stderr)
        assert killed.stderr.strip().splitlines()[-1].startswith("refcli: interrupted"), killed.stderr
        assert "Traceback" not in killed.stderr
    again = run_refcli("index", str(media), "--db", db, "--json")
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["new"] + summary["unchanged"] == 5 and summary["failed"] == 0
    assert snapshot(db) == reference
    store = Store.open(db)
    current = {(cid, m.generation) for cid, m in store.contents.media().items()}
    for table in ("frames", "tracks", "keyframes"):
        rows = store._read(table, ["content_id", "generation"]).to_pylist()
        assert {(r["content_id"], r["generation"]) for r in rows} <= current, f"unreachable {table} rows remain"


def test_finished_files_are_not_redone_after_a_crash(media: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    # Order: 3 photos (3 samples), plaza.mp4 (8), walkers.mp4 (24). At the 24th decoded frame the
    # photos and plaza.mp4 are detected and committed; walkers.mp4 is half done.
    killed = run_refcli("index", str(media), "--db", db, env={"REFCLI_FAULT": "after-decode:24"})
    assert killed.returncode == -signal.SIGKILL
    summary = json.loads(run_refcli("index", str(media), "--db", db, "--json").stdout)
    assert (summary["unchanged"], summary["new"]) == (4, 1)  # only the unfinished file is redone


def test_files_in_motion_gone_and_pruned(media: Path, tmp_path: Path, data_dir: Path) -> None:
    db = str(tmp_path / "db")
    cli("index", str(media), "--db", db)
    fresh = media / "just copied.jpg"
    shutil.copy(data_dir / "obama3.jpg", fresh)  # mtime: now
    summary = json.loads(cli("index", str(media), "--db", db, "--settle", "60", "--json").stdout)
    assert (summary["settling"], summary["new"], summary["failed"]) == (1, 0, 0)
    os.utime(fresh, (time.time() - 120, time.time() - 120))
    assert json.loads(cli("index", str(media), "--db", db, "--settle", "60", "--json").stdout)["new"] == 1
    (media / "biden.jpg").unlink()
    summary = json.loads(cli("index", str(media), "--db", db, "--json").stdout)
    assert summary["gone"] == 1
    paths = {Path(h["path"]).name for h in json.loads(cli("find", "person", "--db", db, "--json", "--limit", "0")
                                                          .stdout)["hits"]}
    assert "biden.jpg" not in paths and "messi5.jpg" in paths
    status = json.loads(cli("status", "--db", db, "--json").stdout)
    assert status["gone"] == 1 and status["files"] == 5
    assert "forgot 1 gone file" in cli("prune", "--db", db).stdout
    assert json.loads(cli("status", "--db", db, "--json").stdout)["gone"] == 0
    assert json.loads(cli("index", str(media / "messi5.jpg"), "--db", db, "--json").stdout)["gone"] == 0


def test_moved_file_keeps_its_tracks(media: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    cli("index", str(media), "--db", db)
    before = snapshot(db)
    (media / "archive").mkdir()
    shutil.move(media / "plaza.mp4", media / "archive" / "plaza renamed.mp4")
    summary = json.loads(cli("index", str(media), "--db", db, "--json").stdout)
    assert (summary["linked"], summary["gone"], summary["new"], summary["frames"]) == (1, 1, 0, 0)
    after = snapshot(db)
    assert after[("plaza renamed.mp4",)] == before[("plaza.mp4",)]


def test_standing_queries_report_each_new_hit_once(media: Path, tmp_path: Path, data_dir: Path) -> None:
    db = str(tmp_path / "db")
    cli("watch", "add", "people in red", "--db", db)
    cli("watch", "add", "people in red", "--db", db)  # the same query again: no duplicate
    assert len(json.loads(cli("watch", "list", "--db", db, "--json").stdout)) == 1
    refused = cli("watch", "add", "the person holding a microphone", "--db", db, code=1)
    assert "would never find anyone" in refused.stderr
    first = json.loads(cli("scan", str(media), "--db", db, "--settle", "0", "--json", code=10).stdout)
    assert first["new_hits"] and {h["query"] for h in first["new_hits"]} == {"people in red"}
    assert all(os.path.exists(h["path"]) and h["track"] is not None for h in first["new_hits"])
    second = json.loads(cli("scan", str(media), "--db", db, "--settle", "0", "--json").stdout)
    assert second["new_hits"] == []
    shutil.copy(data_dir / "vtest_4s_rot90.mp4", media / "phone.mp4")  # the same people, a new file
    third = json.loads(cli("scan", str(media), "--db", db, "--settle", "0", "--json", code=10).stdout)
    assert {Path(h["path"]).name for h in third["new_hits"]} == {"phone.mp4"}
    (media / "broken.jpg").write_bytes(b"")  # failure beats new hits
    shutil.copy(data_dir / "messi5_exif6.jpg", media / "rotated.jpg")
    cli("scan", str(media), "--db", db, "--settle", "0", "--json", code=11)
    text = cli("scan", str(media), "--db", db, "--settle", "0").stdout
    assert "no new hits (1 standing query)" in text
    cli("watch", "remove", "people in red", "--db", db)
    assert cli("watch", "list", "--db", db).stdout == ""


def test_status_and_errors(media: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    (media / "broken.jpg").write_bytes(b"not a jpeg")
    cli("index", str(media), "--db", db)
    status = json.loads(cli("status", "--db", db, "--json").stdout)
    assert status["schema_version"] == schema.SCHEMA_VERSION
    assert status["size_bytes"] > 100_000 and status["tracks"] >= 5
    assert status["failed"] == 1 and status["last_scan"] is None
    assert "broken.jpg: not a readable image" in cli("errors", "--db", db).stdout
    assert json.loads(cli("errors", "--db", db, "--json").stdout)[0]["path"].endswith("broken.jpg")


def test_hostile_names_cannot_widen_a_filter(tmp_path: Path, data_dir: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    hostile = media / "a' OR '1'='1.jpg"
    shutil.copy(data_dir / "messi5.jpg", hostile)
    shutil.copy(data_dir / "astronaut.jpg", media / "other.jpg")
    db = tmp_path / "db"
    cli("index", str(media), "--db", str(db))
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o700
    hits = json.loads(cli("find", "person", "--db", str(db), "--json").stdout)["hits"]
    assert sorted(Path(h["path"]).name for h in hits) == ["a' OR '1'='1.jpg", "other.jpg"]
    cli("watch", "add", "people in red", "--db", str(db))
    cli("watch", "remove", "x' OR '1'='1", "--db", str(db), code=1)  # removes nothing
    assert len(json.loads(cli("watch", "list", "--db", str(db), "--json").stdout)) == 1
    hostile.unlink()
    cli("index", str(media), "--db", str(db))
    cli("prune", "--db", str(db))
    hits = json.loads(cli("find", "person", "--db", str(db), "--json").stdout)["hits"]
    assert [Path(h["path"]).name for h in hits] == ["other.jpg"]


def test_optimize_builds_indexes(media: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    cli("index", str(media / "messi5.jpg"), "--db", db)
    cli("optimize", "--db", db)
    store = Store.open(db)
    assert "content_id_idx" in {i.name for i in store._table("tracks").list_indices()}
    assert json.loads(cli("find", "person", "--db", db, "--json").stdout)["total"] == 1


def _scan_hits(proc: subprocess.CompletedProcess) -> set[tuple[str, str, int]]:
    assert "Traceback" not in proc.stderr, proc.stderr
    return {(h["query"], h["content_id"], h["track"]) for h in json.loads(proc.stdout)["new_hits"]}


@pytest.mark.parametrize(("fault", "how"), [("before-report", "KILL"), ("after-plan", "INT"),
                                            ("after-report", "KILL"), ("mid-batch:3", "INT")])
def test_an_interrupted_scan_reports_every_new_hit_on_the_next_run(fault: str, how: str, media: Path,
                                                                   tmp_path: Path, data_dir: Path) -> None:
    """At least once: whatever moment a scan dies at, the next scan reports every hit it did not
    deliver (and a watch also looks at what a plain `refcli index` added in between)."""
    def watched(db: str) -> None:
        for query in ("people in red", "person"):
            cli("watch", "add", query, "--db", db)

    reference_db = str(tmp_path / "reference")
    watched(reference_db)
    reference = _scan_hits(run_refcli("scan", str(media), "--db", reference_db, "--settle", "0", "--json"))
    assert len(reference) > 10

    db = str(tmp_path / "db")
    watched(db)
    env = {"REFCLI_FAULT": fault, "REFCLI_FAULT_ONCE": str(tmp_path / "fired")}
    if how == "INT":
        env["REFCLI_FAULT_SIGNAL"] = "INT"
    first = run_refcli("scan", str(media), "--db", db, "--settle", "0", "--json", env=env)
    assert first.returncode == (130 if how == "INT" else -signal.SIGKILL), first.stderr
    delivered = _scan_hits(first) if fault == "after-report" else set()
    again = run_refcli("scan", str(media), "--db", db, "--settle", "0", "--json")
    assert again.returncode == 10, again.stderr
    assert _scan_hits(again) == reference  # everything, the hits printed before the kill included
    assert delivered in (set(), reference)
    assert _scan_hits(run_refcli("scan", str(media), "--db", db, "--settle", "0", "--json")) == set()
    if fault == "before-report":  # content added by a plain index between scans is looked at too
        shutil.copy(data_dir / "vtest_4s_rot90.mp4", media / "phone.mp4")
        cli("index", str(media), "--db", db)
        late = run_refcli("scan", str(media), "--db", db, "--settle", "0", "--json")
        assert late.returncode == 10 and {h["path"] for h in json.loads(late.stdout)["new_hits"]} \
            == {str(media / "phone.mp4")}


@pytest.mark.parametrize("trial", range(4))
def test_two_runs_creating_a_new_database_at_once(trial: int, media: Path, tmp_path: Path) -> None:
    from test_cli import BIN

    db = str(tmp_path / "db")
    env = {k: v for k, v in os.environ.items() if k != "REFCLI_DB"}
    procs = [subprocess.Popen([str(BIN / "refcli"), "index", str(media / name), "--db", db, *wait],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, wait in (("messi5.jpg", []), ("biden.jpg", ["--wait", "120"]))]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for code, err in results:
        assert code in (0, 75), err  # done, or "another refcli is writing" (try later): never "not a database"
        assert "not a refcli database" not in err and "Traceback" not in err
    assert results[1][0] == 0  # the one that waits always gets its turn
    status = json.loads(cli("status", "--db", db, "--json").stdout)
    assert status["files"] == (2 if results[0][0] == 0 else 1)


def test_a_scan_keeps_the_settings_the_archive_was_indexed_with(media: Path, tmp_path: Path) -> None:
    def refcli(*args: str) -> dict:
        proc = run_refcli(*args, "--json")
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        return json.loads(proc.stdout)

    db = str(tmp_path / "db")
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("messi5.jpg", "biden.jpg"):
        shutil.copy(media / name, photos / name)
    refcli("index", str(photos), str(media / "plaza.mp4"), "--db", db, "--faces", "--fps", "4")
    faces = Store.open(db)._read("faces").num_rows
    assert faces >= 1
    status = refcli("status", "--db", db)
    assert status["index_settings"] == {"fps": 4.0, "detector": "ssdlite", "detector_model": None, "faces": True,
                                        "pose": False, "reuse_still": True}
    assert "indexed with detector ssdlite, 4 fps, faces" in run_refcli("status", "--db", db).stdout
    scan = refcli("scan", str(photos), str(media / "plaza.mp4"), "--db", db, "--settle", "0")
    assert (scan["index"]["unchanged"], scan["index"]["updated"]) == (3, 0)
    assert Store.open(db)._read("faces").num_rows == faces
    again = refcli("index", str(photos), "--db", db)
    assert again["unchanged"] == 2 and again["settings"]["faces"] is True
    off = refcli("scan", str(photos), "--db", db, "--settle", "0", "--no-faces")
    assert off["index"]["updated"] == 2  # told otherwise: re-indexed without faces, and that is kept
    assert refcli("status", "--db", db)["index_settings"]["faces"] is False
    assert refcli("scan", str(photos), "--db", db, "--settle", "0")["index"]["unchanged"] == 2
