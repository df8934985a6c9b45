"""A hostile archive, tried in real `refcli` processes: files that change, vanish or turn into FIFOs
while refcli works, edits that keep a file's size, names that are not UTF-8."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_cli import run_refcli

from refcli.store import Store


def refcli_json(*args: str, code: int = 0) -> dict:
    proc = run_refcli(*args, "--json")
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def start_stopped_at(point: str, *args: str) -> subprocess.Popen:
    """A real `refcli` that stops itself (SIGSTOP) at a fault point, for the test to change the
    archive under it; the caller sends SIGCONT."""
    from test_cli import BIN

    env = {k: v for k, v in os.environ.items() if k != "REFCLI_DB"}
    env.update(REFCLI_FAULT=point, REFCLI_FAULT_SIGNAL="STOP", PYTHONWARNINGS="ignore")
    proc = subprocess.Popen([str(BIN / "refcli"), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with open(f"/proc/{proc.pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "T":
                return proc
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"refcli never reached {point}")


@pytest.fixture()
def photos(tmp_path: Path, data_dir: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    shutil.copy(data_dir / "messi5.jpg", root / "a.jpg")
    shutil.copy(data_dir / "biden.jpg", root / "b.jpg")
    return root


def test_a_file_replaced_by_a_fifo_before_decoding_does_not_hang(photos: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    proc = start_stopped_at("after-plan", "index", str(photos), "--db", db, "--json")
    (photos / "b.jpg").unlink()
    os.mkfifo(photos / "b.jpg")  # nobody ever writes to it: opening it for reading would block for good
    proc.send_signal(signal.SIGCONT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["new"] == 1 and summary["failed"] == 1
    assert "not a regular file" in summary["failures"][0]["reason"]
    assert "Traceback" not in err
    # the lock is free and later runs do not block on the FIFO either
    again = refcli_json("index", str(photos), "--db", db)
    assert again["failed"] == 0 and again["unchanged"] == 1  # a FIFO in a folder is not media: skipped
    fifo_root = run_refcli("index", str(photos / "b.jpg"), "--db", db)
    assert fifo_root.returncode == 0 and "not a regular file" in fifo_root.stderr


def test_a_file_gone_at_decode_time_is_indexed_under_its_new_name(photos: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    proc = start_stopped_at("after-plan", "index", str(photos), "--db", db, "--json")
    shutil.move(photos / "b.jpg", photos / "renamed.jpg")
    proc.send_signal(signal.SIGCONT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert (summary["new"], summary["failed"], summary["gone"]) == (1, 0, 1)
    assert "disappeared" in err
    again = refcli_json("index", str(photos), "--db", db)
    assert (again["new"], again["failed"]) == (1, 0)
    status = refcli_json("status", "--db", db)
    assert status["failed"] == 0 and status["failures"] == [] and status["images"] == 2
    hits = refcli_json("find", "person", "--db", db, "--limit", "0")["hits"]
    assert {Path(h["path"]).name for h in hits} == {"a.jpg", "renamed.jpg"}


def _uncompressed_photo(data_dir: Path, path: Path) -> None:
    """A real photo stored uncompressed (PPM), so that its middle can be edited at the same size."""
    Image.open(data_dir / "messi5.jpg").convert("RGB").save(path)


def test_a_same_size_edit_in_the_middle_is_reindexed(tmp_path: Path, data_dir: Path) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    photo = root / "scan.ppm"
    _uncompressed_photo(data_dir, photo)
    db = str(tmp_path / "db")
    refcli_json("index", str(root), "--db", db)
    before = refcli_json("find", "person", "--db", db, "--limit", "0")["hits"]
    assert len(before) == 1
    size = photo.stat().st_size
    os.utime(photo, (time.time() + 5, time.time() + 5))  # touched only: the content is the same
    touched = refcli_json("index", str(root), "--db", db)
    assert (touched["updated"], touched["unchanged"], touched["frames"]) == (0, 1, 0)
    # Paint over the player between the three hashed chunks (start, middle, end): same size, new picture.
    picture = np.asarray(Image.open(photo)).copy()
    x1, y1, x2, y2 = (int(v) for v in before[0]["box"])
    chunk, row_bytes = 64 * 1024, picture.shape[1] * 3
    header = size - picture.size
    hashed = [(start, start + chunk) for start in (0, size // 2 - chunk // 2, size - chunk)]
    for y in range(y1, y2):
        first, last = header + y * row_bytes, header + (y + 1) * row_bytes
        if not any(first < end and last > start for start, end in hashed):
            picture[y, x1:x2] = 128
    Image.fromarray(picture).save(tmp_path / "edited.ppm")
    new_bytes = (tmp_path / "edited.ppm").read_bytes()
    old_bytes = photo.read_bytes()
    for start, _ in hashed:
        assert new_bytes[start:start + chunk] == old_bytes[start:start + chunk], "the edit must miss the hashed chunks"
    photo.write_bytes(new_bytes)
    assert photo.stat().st_size == size
    os.utime(photo, (time.time() + 10, time.time() + 10))
    summary = refcli_json("index", str(root), "--db", db)
    assert (summary["updated"], summary["unchanged"]) == (1, 0)
    after = refcli_json("find", "person", "--db", db, "--limit", "0")["hits"]
    assert after != before and not any(h["id"] == before[0]["id"] for h in after)
    # A copy of the old picture with a new mtime is the old content again, not the edited one.
    shutil.copy(tmp_path / "edited.ppm", root / "copy of edited.ppm")
    (root / "old.ppm").write_bytes(old_bytes)
    summary = refcli_json("index", str(root), "--db", db)
    assert summary["new"] == 2 and summary["linked"] == 0  # same partial hash, different bytes: told apart
    hits = refcli_json("find", "person", "--db", db, "--limit", "0")["hits"]
    by_name = {name: sorted(h["box"] for h in hits if Path(h["path"]).name == name)
               for name in ("scan.ppm", "copy of edited.ppm", "old.ppm")}
    assert by_name["old.ppm"] == [before[0]["box"]]
    assert by_name["copy of edited.ppm"] == by_name["scan.ppm"] == sorted(h["box"] for h in after)


def test_names_that_are_not_utf8_stay_apart_and_can_be_shown(tmp_path: Path, data_dir: Path) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    raw = os.fsencode(str(root)) + b"/coll_\xff.jpg"
    shutil.copy(data_dir / "messi5.jpg", raw)
    shutil.copy(data_dir / "biden.jpg", root / "coll_\\xff.jpg")  # a literal backslash, x, f, f
    db = str(tmp_path / "db")
    summary = refcli_json("index", str(root), "--db", db)
    assert summary["new"] == 2 and summary["failed"] == 0
    hits = refcli_json("find", "person", "--db", db, "--limit", "0")["hits"]
    assert len({h["content_id"] for h in hits}) == 2
    paths = {os.fsencode(h["path"]) for h in hits}  # JSON keeps the exact name (surrogate escapes)
    assert paths == {raw, os.fsencode(str(root / "coll_\\xff.jpg"))}
    for hit in hits:
        target = tmp_path / f"{hit['content_id'][:8]}.png"
        shown = run_refcli("show", hit["id"], "--db", db, "-o", str(target))
        assert shown.returncode == 0, shown.stderr
        assert Image.open(target).size[0] > 100
    clips = tmp_path / "clips"
    exported = refcli_json("export", "person", "--clips", str(clips), "--db", db)
    assert [e["error"] for e in exported["files"]] == [None, None]
    unchanged = refcli_json("index", str(root), "--db", db)
    assert (unchanged["unchanged"], unchanged["gone"], unchanged["new"]) == (2, 0, 0)
    assert sorted(r.path for r in Store.open(db).contents.files().values()) == sorted(os.fsdecode(p) for p in paths)


def test_show_refuses_to_draw_an_old_box_on_a_replaced_photo(photos: Path, tmp_path: Path, data_dir: Path) -> None:
    db = str(tmp_path / "db")
    refcli_json("index", str(photos), "--db", db)
    hit = next(h for h in refcli_json("find", "person", "--db", db, "--limit", "0")["hits"]
               if h["path"].endswith("a.jpg"))
    shutil.copy(data_dir / "obama.jpg", photos / "a.jpg")  # replaced, not re-indexed yet
    shown = run_refcli("show", hit["id"], "--db", db, "-o", str(tmp_path / "x.png"))
    assert shown.returncode != 0 and "changed since it was indexed" in shown.stderr
    assert not (tmp_path / "x.png").exists()
    refcli_json("index", str(photos), "--db", db)
    shown = run_refcli("show", hit["id"], "--db", db, "-o", str(tmp_path / "x.png"))
    assert shown.returncode != 0 and "is not in the index any more" in shown.stderr or "no indexed file" in shown.stderr


def test_file_names_cannot_send_escape_codes_to_the_terminal(tmp_path: Path, data_dir: Path) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    hostile = "\x1b[2J\x1b]0;pwned\x07 clear\r.jpg"
    shutil.copy(data_dir / "messi5.jpg", root / hostile)
    (root / "\x1b[31mbroken.jpg").write_bytes(b"not a jpeg")
    db = str(tmp_path / "db")
    outputs = [run_refcli("index", str(root), "--db", db), run_refcli("find", "person", "--db", db),
               run_refcli("errors", "--db", db), run_refcli("status", "--db", db)]
    hit = refcli_json("find", "person", "--db", db)["hits"][0]
    outputs.append(run_refcli("show", hit["id"], "--db", db, "-o", str(tmp_path / f"{hostile}.png")))
    for proc in outputs:
        assert proc.returncode == 0, proc.stderr
        for text in (proc.stdout, proc.stderr):
            assert "\x1b" not in text and "\r" not in text and "\x07" not in text, repr(text)
    assert "\\x1b[2J" in outputs[1].stdout and "\\x1b[31mbroken.jpg" in outputs[2].stdout
    assert hit["path"] == str(root / hostile)  # JSON stays exact


def test_queries_that_say_nothing_are_refused(photos: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    refcli_json("index", str(photos), "--db", db)
    for query in ("", "the", "!!!", "   "):
        for args in (("find", query), ("watch", "add", query), ("export", query, "--clips", str(tmp_path / "c"))):
            proc = run_refcli(*args, "--db", db)
            assert proc.returncode == 2, (args, proc.stderr)
            assert "says nothing to look for" in proc.stderr and "Traceback" not in proc.stderr
    assert refcli_json("watch", "list", "--db", db) == []
    assert len(refcli_json("find", "person", "--db", db)["hits"]) == 2


def test_broken_links_and_loops_are_recorded_once(photos: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    (photos / "gone.jpg").symlink_to(photos / "missing.jpg")
    (photos / "loop.jpg").symlink_to(photos / "loop.jpg")
    first = run_refcli("scan", str(photos), "--db", db, "--settle", "0", "--json")
    assert first.returncode == 11, first.stderr  # new failures: reported
    reasons = {Path(f["path"]).name: f["reason"] for f in json.loads(first.stdout)["index"]["failures"]}
    assert reasons == {"gone.jpg": "broken symbolic link", "loop.jpg": "symbolic link loop"}
    errors = {Path(e["path"]).name for e in refcli_json("errors", "--db", db)}
    assert errors == {"gone.jpg", "loop.jpg"}
    second = run_refcli("scan", str(photos), "--db", db, "--settle", "0", "--json")
    assert second.returncode == 0, second.stderr  # the same broken links: recorded, not news every night
    assert json.loads(second.stdout)["index"]["unchanged"] == 4
    (photos / "gone.jpg").unlink()
    shutil.copy(photos / "a.jpg", photos / "gone.jpg")  # the link's target is a photo now
    third = refcli_json("index", str(photos), "--db", db)
    assert third["linked"] == 1 and third["failed"] == 0
    assert {Path(e["path"]).name for e in refcli_json("errors", "--db", db)} == {"loop.jpg"}


def test_status_counts_only_tracks_readers_can_reach(photos: Path, tmp_path: Path, data_dir: Path) -> None:
    db = str(tmp_path / "db")
    refcli_json("index", str(photos), "--db", db)
    before = refcli_json("status", "--db", db)["tracks"]
    shutil.copy(data_dir / "obama.jpg", photos / "a.jpg")
    proc = run_refcli("index", str(photos), "--db", db,
                      env={"REFCLI_FAULT": "before-switch:1"})  # killed after writing new rows, before the switch
    assert proc.returncode == -signal.SIGKILL
    store = Store.open(db)
    assert store._read("tracks", ["content_id"]).num_rows > before  # unreachable rows are there...
    assert refcli_json("status", "--db", db)["tracks"] == before  # ...and not counted


def test_refcli_keeps_its_database_private_and_onnxruntime_quiet(photos: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    db = tmp_path / "made by the user"
    db.mkdir(mode=0o755)
    proc = run_refcli("index", str(photos), "--db", str(db), env={"HOME": str(home), "XDG_CACHE_HOME": ""})
    assert proc.returncode == 0, proc.stderr
    assert (db.stat().st_mode & 0o777) == 0o700
    assert not (home / ".cache" / "Microsoft").exists()  # no device id, no telemetry cache


def test_every_content_keeps_the_full_hash_of_its_bytes(photos: Path, tmp_path: Path, data_dir: Path) -> None:
    from refcli.io.files import full_hash

    shutil.copy(data_dir / "vtest_4s.mp4", photos / "clip.mp4")
    db = str(tmp_path / "db")
    refcli_json("index", str(photos), "--db", db)
    store = Store.open(db)
    media = store.contents.media()
    for record in store.contents.files().values():
        assert media[record.content_id].full_hash == full_hash(path=record.path)
