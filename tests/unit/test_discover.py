from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from refcli.io.discover import FoundFile, MediaKind, WalkProblem, content_id, display_path, media_kind, walk


@pytest.mark.parametrize(("name", "kind"), [
    ("a.jpg", MediaKind.IMAGE), ("B.JPEG", MediaKind.IMAGE), ("c.webp", MediaKind.IMAGE),
    ("d.tiff", MediaKind.IMAGE), ("e.MP4", MediaKind.VIDEO), ("f.mkv", MediaKind.VIDEO),
    ("g.mov", MediaKind.VIDEO), ("h.avi", MediaKind.VIDEO), ("i.webm", MediaKind.VIDEO),
    ("notes.txt", None), ("noext", None),
])
def test_media_kind_by_extension(name: str, kind: MediaKind | None) -> None:
    assert media_kind(name) == kind


def test_walk_is_recursive_sorted_and_skips_hidden(archive: Path) -> None:
    (archive / ".cache").mkdir()
    shutil.copy(archive / "photos" / "rotated.jpg", archive / ".cache" / "thumb.jpg")
    shutil.copy(archive / "photos" / "rotated.jpg", archive / "photos" / "._rotated.jpg")
    found = [f for f in walk([str(archive)]) if isinstance(f, FoundFile)]
    rel = [os.path.relpath(f.path, archive) for f in found]
    assert rel == ["photos/rotated.jpg", "photos/été 2024/match 'final' \"day\".jpg", "videos/plaza clip.mp4"]
    with_hidden = [f for f in walk([str(archive)], include_hidden=True) if isinstance(f, FoundFile)]
    assert len(with_hidden) == 5


def test_walk_reports_broken_links_and_explicit_unsupported_files(tmp_path: Path) -> None:
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "missing.jpg")
    (tmp_path / "notes.txt").write_text("x")
    problems = [p for p in walk([str(tmp_path), str(tmp_path / "notes.txt")]) if isinstance(p, WalkProblem)]
    reasons = {os.path.basename(p.path): p.reason for p in problems}
    assert reasons == {"gone.jpg": "broken symbolic link", "notes.txt": "not a supported image or video file type"}


def test_content_id_follows_content_not_path(tmp_path: Path, data_dir: Path) -> None:
    a = tmp_path / "a.jpg"
    shutil.copy(data_dir / "messi5.jpg", a)
    b = tmp_path / "sub" / "renamed.jpg"
    b.parent.mkdir()
    shutil.copy(a, b)
    assert content_id(str(a), a.stat().st_size) == content_id(str(b), b.stat().st_size)
    data = bytearray(a.read_bytes())
    data[100] ^= 0xFF
    b.write_bytes(bytes(data))
    assert content_id(str(a), a.stat().st_size) != content_id(str(b), b.stat().st_size)


def test_display_path_keeps_utf8_and_escapes_undecodable_bytes() -> None:
    assert display_path("/x/été.jpg") == "/x/été.jpg"
    raw = os.fsdecode(b"/x/caf\xe9.jpg")  # Latin-1 name on a UTF-8 system
    assert display_path(raw) == "/x/caf\\xe9.jpg"
