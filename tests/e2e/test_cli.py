"""The CLI through Typer's runner and as a real process, on real media and a real database."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from conftest import iou, write_bad_files
from typer.testing import CliRunner

from refcli.cli.app import app

runner = CliRunner()
BIN = Path(sys.executable).parent


def cli(*args: str):
    result = runner.invoke(app, list(args))
    return result


def run_refcli(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    """The installed console script, as a user runs it."""
    exe = shutil.which("refcli", path=str(BIN)) or shutil.which("refcli")
    assert exe, "the refcli console script is not installed"
    base = {k: v for k, v in os.environ.items() if k != "REFCLI_DB"}  # tests choose their database
    full_env = {**base, "PYTHONWARNINGS": "ignore", **(env or {})}
    return subprocess.run([exe, *args], capture_output=True, text=True, env=full_env, timeout=300, **kwargs)


def test_index_then_find_json_shape(archive: Path, db_path: Path) -> None:
    write_bad_files(archive / "bad")
    result = cli("index", str(archive), "--db", str(db_path), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["new"], summary["failed"], summary["unchanged"]) == (3, 4, 0)
    assert {"new", "updated", "unchanged", "failed", "frames", "people", "seconds", "failures"} <= set(summary)
    assert "failed: " in result.stderr and "truncated.jpg" in result.stderr

    found = json.loads(cli("find", "person", "--db", str(db_path), "--json", "--limit", "0").stdout)
    assert set(found) >= {"query", "backend", "total", "hits", "unsupported"}
    assert found["query"] == "person" and found["backend"] == "embedded" and found["unsupported"] == []
    assert found["total"] == len(found["hits"]) >= 2 + 5
    kinds = {h["kind"] for h in found["hits"]}
    assert kinds == {"image", "video"}
    for hit in found["hits"]:
        assert set(hit) >= {"path", "kind", "time", "start", "end", "track", "box", "score", "id"}
        assert os.path.exists(hit["path"])
        assert (hit["time"] is None) == (hit["kind"] == "image") == (hit["start"] is None)
        if hit["kind"] == "video":
            assert hit["start"] <= hit["time"] <= hit["end"]
        x1, y1, x2, y2 = hit["box"]
        assert 0 <= x1 < x2 and 0 <= y1 < y2
    scores = [h["score"] for h in found["hits"]]
    assert scores == sorted(scores, reverse=True)
    photos = [h for h in found["hits"] if h["kind"] == "image"]
    assert len(photos) == 2 and iou(photos[0]["box"], photos[1]["box"]) > 0.9  # EXIF photo: displayed pixels


def test_limit_says_how_many_matched(archive: Path, db_path: Path) -> None:
    cli("index", str(archive), "--db", str(db_path))
    found = json.loads(cli("find", "people", "--db", str(db_path), "--json", "--limit", "3").stdout)
    assert len(found["hits"]) == 3 and found["total"] > 3
    text = cli("find", "people", "--db", str(db_path), "--limit", "3").stdout
    assert f"3 of {found['total']} matches shown" in text


def test_position_query_answers_with_moments(archive: Path, db_path: Path) -> None:
    """The leftmost person changes over time: each sample is covered by a moment of one track."""
    cli("index", str(archive / "videos"), "--db", str(db_path))
    everyone = json.loads(cli("find", "person", "--db", str(db_path), "--json", "--limit", "0").stdout)["hits"]
    leftmost = json.loads(cli("find", "the leftmost person", "--db", str(db_path), "--json", "--limit", "0").stdout)
    hits = leftmost["hits"]
    for time in [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]:
        assert any(h["start"] <= time <= h["end"] for h in hits), time
    assert len(hits) < 8  # moments, not one row per frame
    for hit in hits:  # the best box of each moment is the leftmost person at that time
        assert any(h["track"] == hit["track"] and h["start"] <= hit["time"] <= h["end"] for h in everyone)


def test_unsupported_query_answers_nobody(archive: Path, db_path: Path) -> None:
    cli("index", str(archive), "--db", str(db_path))
    found = json.loads(cli("find", "the person holding a microphone", "--db", str(db_path), "--json").stdout)
    assert found["hits"] == [] and found["total"] == 0
    assert len(found["unsupported"]) == 1 and found["unsupported"][0].startswith("holding a microphone")
    assert "--grounder" in found["unsupported"][0]  # what would make it answerable
    text = cli("find", "the person holding a microphone", "--db", str(db_path)).stdout
    assert 'cannot judge "holding a microphone' in text and "vlm" in text and "--ignore-unsupported" in text
    relaxed = json.loads(cli("find", "the leftmost person holding a microphone", "--db", str(db_path), "--json",
                             "--ignore-unsupported").stdout)
    assert relaxed["unsupported"] == [] and relaxed["ignored"] == ["holding a microphone"]
    assert relaxed["total"] == len(json.loads(cli("find", "the leftmost person", "--db", str(db_path),
                                                  "--json").stdout)["hits"]) > 0


def test_find_without_database_is_a_one_line_error(db_path: Path) -> None:
    result = cli("find", "person", "--db", str(db_path))
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1 and "run `refcli index PATH` first" in result.stderr


def test_missing_path_is_an_error(tmp_path: Path, db_path: Path) -> None:
    result = cli("index", str(tmp_path / "nope"), "--db", str(db_path))
    assert result.exit_code == 1 and "no such file or folder" in result.stderr


def test_second_writer_exits_with_busy_code(archive: Path, db_path: Path) -> None:
    from filelock import FileLock

    cli("index", str(archive / "photos"), "--db", str(db_path))
    with FileLock(str(db_path / "writer.lock")):
        proc = run_refcli("index", str(archive), "--db", str(db_path))
    assert proc.returncode == 75, proc.stderr
    assert "another refcli is writing" in proc.stderr and "Traceback" not in proc.stderr


def test_real_process_with_env_database_and_awkward_names(archive: Path, tmp_path: Path) -> None:
    env = {"REFCLI_DB": str(tmp_path / "env db")}
    first = run_refcli("index", str(archive), "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["new"] == 3
    again = run_refcli("index", str(archive), env=env)
    assert again.returncode == 0 and "0 new" in again.stdout and "3 unchanged" in again.stdout
    found = run_refcli("find", "person", "--json", "--limit", "0", env=env)
    paths = {h["path"] for h in json.loads(found.stdout)["hits"]}
    assert str(archive / "photos" / "été 2024" / "match 'final' \"day\".jpg") in paths
    table = run_refcli("find", "everyone", "--limit", "2", env=env)
    assert table.returncode == 0 and "matches shown" in table.stdout
    status = run_refcli("status", "--json", env=env)
    assert json.loads(status.stdout)["files"] == 3


def test_python_m_refcli_works(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "refcli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("refcli ")


def test_help_imports_no_heavy_library() -> None:
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom refcli.cli.app import app\n"
            "for args in (['--help'], ['index', '--help'], ['find', '--help']):\n"
            "    assert CliRunner().invoke(app, args).exit_code == 0\n"
            "heavy = {'torch', 'transformers', 'lancedb', 'pyarrow', 'onnxruntime', 'av', 'decord', 'ray', 'cv2'}\n"
            "print(sorted(heavy & set(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def _without_root_file_powers() -> None:  # runs in the child before exec
    """Root ignores file permissions through two capabilities; drop them so mode 000 bites."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def test_unreadable_file_is_recorded_and_skipped(tmp_path: Path, data_dir: Path) -> None:
    """Permissions are real: the file has mode 000 and the index runs without root's override."""
    root = tmp_path / "media"
    root.mkdir()
    shutil.copy(data_dir / "messi5.jpg", root / "ok.jpg")
    shutil.copy(data_dir / "messi5.jpg", root / "secret.jpg")
    os.chmod(root / "secret.jpg", 0o000)
    db = tmp_path / "db"
    kwargs = {"preexec_fn": _without_root_file_powers} if os.geteuid() == 0 else {}
    proc = run_refcli("index", str(root), "--db", str(db), "--json", **kwargs)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["new"], summary["failed"]) == (1, 1)
    expected = "cannot read file: permission denied"
    assert summary["failures"] == [{"path": str(root / "secret.jpg"), "reason": expected}]
    status = json.loads(run_refcli("status", "--db", str(db), "--json", **kwargs).stdout)
    assert status["failures"] == [{"path": str(root / "secret.jpg"), "error": expected}]
    again = json.loads(run_refcli("index", str(root), "--db", str(db), "--json", **kwargs).stdout)
    assert (again["unchanged"], again["failed"]) == (2, 0)
    os.chmod(root / "secret.jpg", 0o644)  # fixing the permission makes it worth another try
    fixed = json.loads(run_refcli("index", str(root), "--db", str(db), "--json", **kwargs).stdout)
    assert (fixed["new"], fixed["updated"], fixed["linked"], fixed["failed"]) == (0, 0, 1, 0)


def test_readme_main_job_on_a_fresh_home(tmp_path: Path) -> None:
    """The README's quick start, verbatim, with the default database location."""
    examples = Path(__file__).parents[2] / "examples" / "footage"
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    indexed = run_refcli("index", str(examples), env=env)
    assert indexed.returncode == 0, indexed.stderr
    assert "2 new" in indexed.stdout and (tmp_path / "data" / "refcli" / "db").is_dir()
    found = run_refcli("find", "person", env=env)
    assert found.returncode == 0 and "plaza.mp4" in found.stdout and "messi5.jpg" in found.stdout


def _red_pixels(path: Path) -> int:
    from PIL import Image

    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return int(((pixels[..., 0] > 200) & (pixels[..., 1] < 80) & (pixels[..., 2] < 80)).sum())


def test_show_and_thumbnails_draw_the_hit(archive: Path, db_path: Path, tmp_path: Path) -> None:
    from PIL import Image

    cli("index", str(archive), "--db", str(db_path))
    found = json.loads(cli("find", "person", "--db", str(db_path), "--json", "--limit", "0",
                           "--thumbnails", str(tmp_path / "thumbs")).stdout)
    pngs = sorted((tmp_path / "thumbs").glob("*.png"))
    assert len(pngs) == found["total"] > 0
    for png in pngs[:5]:
        assert max(Image.open(png).size) <= 640 and _red_pixels(png) > 50
    video = next(h for h in found["hits"] if h["kind"] == "video")
    out = tmp_path / "shown.png"
    result = cli("show", video["id"], "--db", str(db_path), "-o", str(out))
    assert result.exit_code == 0, result.output
    picture = Image.open(out)
    assert picture.size == (768, 576) and _red_pixels(out) > 100
    photo = next(h for h in found["hits"] if h["kind"] == "image")
    assert cli("show", photo["id"], "--db", str(db_path), "-o", str(tmp_path / "photo.png")).exit_code == 0
    assert Image.open(tmp_path / "photo.png").size == (548, 342)  # the displayed (EXIF-applied) photo
    bad = cli("show", "nothing:1:2", "--db", str(db_path))
    assert bad.exit_code == 3 and "no indexed file has an id starting with" in bad.stderr
