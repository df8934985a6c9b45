"""Showing hits: the HTML report in a real headless browser, clips decoded again, contact sheet."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner

from refcli.cli._output import print_find
from refcli.cli.app import app
from refcli.query import find
from refcli.refer import create_referrer
from refcli.store import Store

runner = CliRunner()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def cli(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def red_pixels(image: np.ndarray) -> int:
    image = image.astype(int)
    return int(((image[..., 0] > 200) & (image[..., 1] < 90) & (image[..., 2] < 90)).sum())


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, data_dir: Path) -> tuple[str, Path]:
    root = tmp_path_factory.mktemp("show") / "media"
    root.mkdir()
    shutil.copy(data_dir / "vtest_4s.mp4", root / "plaza clip.mp4")
    shutil.copy(data_dir / "messi5.jpg", root / "messi.jpg")
    db = str(root.parent / "db")
    assert runner.invoke(app, ["index", str(root), "--db", db]).exit_code == 0
    return db, root


def browser_dom(page: Path) -> tuple[str, str]:
    assert CHROMIUM, "chromium is needed for this test: apt-get install -y chromium (see README, Development)"
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--enable-logging=stderr", "--v=0",
             "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, proc.stderr


def test_html_report_renders_every_hit_in_a_real_browser(indexed, tmp_path: Path) -> None:
    db, _ = indexed
    page = tmp_path / "report.html"
    found = json.loads(cli("find", "person", "--db", db, "--json", "--limit", "0", "--html", str(page)).stdout)
    source = page.read_text()
    assert not re.search(r'(src|href)="https?:', source)  # self-contained: no external assets
    assert source.count('class="hit"') == found["total"] > 3
    dom, log = browser_dom(page)
    rendered = re.search(r'data-rendered="(\d+)"', dom)
    assert rendered and int(rendered.group(1)) == found["total"]  # every picture decoded in the browser
    assert "data-errors" not in dom and "Uncaught" not in log
    assert dom.count("file://") == found["total"]  # each hit links to its file
    assert "<h1>person</h1>" in dom and "backend embedded" in dom


def test_html_report_of_nobody_says_so(indexed, tmp_path: Path) -> None:
    db, _ = indexed
    page = tmp_path / "none.html"
    cli("find", "the person in a yellow jacket", "--db", db, "--html", str(page))
    dom, _ = browser_dom(page)
    assert "Nobody matches." in dom and 'data-rendered="0"' in dom


def test_clips_are_playable_and_last_the_hit_plus_margins(indexed, tmp_path: Path) -> None:
    db, _ = indexed
    result = json.loads(cli("export", "person", "--db", db, "--clips", str(tmp_path / "clips"), "--boxes",
                            "--limit", "0", "--json").stdout)
    found = {h["id"]: h for h in json.loads(cli("find", "person", "--db", db, "--json", "--limit", "0").stdout)["hits"]}
    assert len(result["files"]) == len(found) and all(f["error"] is None for f in result["files"])
    for item in result["files"]:
        hit = found[item["hit"]]
        if hit["kind"] == "image":
            picture = np.asarray(Image.open(item["path"]).convert("RGB"))
            assert picture.shape == (342, 548, 3) and red_pixels(picture) > 100
            continue
        with av.open(item["path"]) as clip:
            stream = clip.streams.video[0]
            assert stream.codec_context.name == "h264"
            frames = [f for f in clip.decode(stream)]
        expected = min(hit["end"] + 1.0, 4.0) - max(hit["start"] - 1.0, 0.0)  # 1 s margins inside a 4 s video
        duration = len(frames) / 10  # 10 fps source
        assert abs(duration - expected) <= 0.15, (item, duration, expected)
        middle = frames[len(frames) // 2].to_ndarray(format="rgb24")
        assert middle.shape == (576, 768, 3) and red_pixels(middle) > 30  # the box is burned in


def test_clips_without_boxes_are_the_source_pictures(indexed, tmp_path: Path) -> None:
    from refcli.io.video import frame_at

    db, root = indexed
    result = json.loads(cli("export", "the leftmost person", "--db", db, "--clips", str(tmp_path / "c"),
                            "--margin", "0", "--json").stdout)
    videos = [f for f in result["files"] if f["path"].endswith(".mp4")]
    found = {h["id"]: h for h in json.loads(cli("find", "the leftmost person", "--db", db, "--json").stdout)["hits"]}
    assert videos
    for item in videos:
        with av.open(item["path"]) as clip:
            first = next(clip.decode(video=0)).to_ndarray(format="rgb24").astype(int)
        source = frame_at(str(root / "plaza clip.mp4"), found[item["hit"]]["start"]).image.astype(int)
        assert np.abs(first - source).mean() < 4  # re-encoded, nothing drawn on it


def test_contact_sheet(indexed, tmp_path: Path) -> None:
    db, _ = indexed
    sheet = tmp_path / "sheet.png"
    found = json.loads(cli("find", "person", "--db", db, "--json", "--limit", "6",
                           "--contact-sheet", str(sheet)).stdout)
    picture = np.asarray(Image.open(sheet).convert("RGB"))
    columns = min(4, len(found["hits"]))
    rows = -(-len(found["hits"]) // columns)
    assert picture.shape == (rows * (320 + 34), columns * 320, 3)
    assert red_pixels(picture) > 50 * len(found["hits"])


def test_terminal_table_links_files_on_terminals_that_support_it(indexed) -> None:
    db, root = indexed
    result = find(Store.open(db), "person", create_referrer("embedded"), limit=3)
    terminal = io.StringIO()
    print_find(result, Console(file=terminal, force_terminal=True, width=200))
    assert "\x1b]8;" in terminal.getvalue() and (root / "messi.jpg").as_uri() in terminal.getvalue()
    piped = io.StringIO()
    print_find(result, Console(file=piped, width=200))
    assert "\x1b]8;" not in piped.getvalue()
