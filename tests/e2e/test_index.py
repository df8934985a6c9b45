"""`run_index` end to end on real media in a temporary archive and a real LanceDB."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import write_bad_files
from PIL import Image

import refcli.index.decode
import refcli.index.plan
from refcli.index import IndexOptions, run_index
from refcli.store import Store


def index(root: Path, db_path: Path, detector, **options):
    store = Store.open(str(db_path), create=True)
    with store.writer():
        return run_index([str(root)], store, IndexOptions(**options), detector=detector)


def frame_rows(db_path: Path) -> list[dict]:
    return Store.open(str(db_path))._read("frames").to_pylist()


def forbid_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("an unchanged file was read")

    monkeypatch.setattr(refcli.index.plan, "content_id", fail)
    monkeypatch.setattr(refcli.index.decode, "samples", fail)


def test_index_reports_bad_files_and_keeps_going(archive: Path, db_path: Path, detector) -> None:
    expected = write_bad_files(archive / "bad")
    summary = index(archive, db_path, detector)
    assert (summary.new, summary.failed, summary.unchanged) == (3, 4, 0)
    assert summary.frames == 1 + 1 + 8
    assert summary.detections >= 2 + 17  # person boxes (measured: 17 of 21 people in 3 hand-checked frames)
    assert 2 + 5 <= summary.people < summary.detections  # person tracks: boxes of one walker join
    reasons = {os.path.basename(p.path): p.reason for p in summary.failures}
    assert set(reasons) == set(expected)
    for name, words in expected.items():
        assert words in reasons[name] and "\n" not in reasons[name]
    status = Store.open(str(db_path)).status()
    assert status["failed"] == 4 and status["images"] == 2 and status["videos"] == 1


def test_unchanged_tree_is_not_read_again(archive: Path, db_path: Path, detector,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    write_bad_files(archive / "bad")
    index(archive, db_path, detector)
    before = frame_rows(db_path)
    forbid_reading(monkeypatch)
    summary = index(archive, db_path, detector)
    assert (summary.new, summary.updated, summary.failed, summary.unchanged, summary.frames) == (0, 0, 0, 7, 0)
    assert frame_rows(db_path) == before


def test_changed_fps_reindexes_videos_only(archive: Path, db_path: Path, detector) -> None:
    index(archive, db_path, detector)
    summary = index(archive, db_path, detector, fps=1.0)
    assert (summary.updated, summary.unchanged, summary.frames) == (1, 2, 4)
    times = sorted(r["time"] for r in frame_rows(db_path) if r["time"] is not None)
    assert times == [0.0, 1.0, 2.0, 3.0]  # old generation replaced, not added to


def test_changed_file_replaces_its_rows(archive: Path, db_path: Path, detector, data_dir: Path) -> None:
    index(archive, db_path, detector)
    photo = archive / "photos" / "rotated.jpg"
    old_cid = Store.open(str(db_path)).contents.files()[str(photo)].content_id
    shutil.copy(data_dir / "vtest_4s.mp4", archive / "videos" / "plaza clip.mp4")  # same content: untouched
    os.utime(photo, ns=(1, 1))  # touched only: re-hash finds the same content
    summary = index(archive, db_path, detector)
    assert (summary.new, summary.updated, summary.unchanged) == (0, 0, 3)
    Image.open(data_dir / "messi5.jpg").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(photo, format="JPEG")
    summary = index(archive, db_path, detector)
    assert (summary.updated, summary.unchanged, summary.frames) == (1, 2, 1)
    store = Store.open(str(db_path))
    new_cid = store.contents.files()[str(photo)].content_id
    assert new_cid != old_cid
    cids = [r["content_id"] for r in frame_rows(db_path)]
    assert old_cid not in cids and cids.count(new_cid) == 1
    assert old_cid not in store.contents.media()


def test_moved_and_copied_files_are_linked_not_decoded(archive: Path, db_path: Path, detector,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    index(archive, db_path, detector)
    frames_before = len(frame_rows(db_path))
    (archive / "moved").mkdir()
    shutil.move(archive / "videos" / "plaza clip.mp4", archive / "moved" / "plaza.mp4")
    shutil.copy(archive / "photos" / "rotated.jpg", archive / "moved" / "copy of rotated.jpg")
    monkeypatch.setattr(refcli.index.decode, "samples", lambda *a: (_ for _ in ()).throw(AssertionError("decoded")))
    summary = index(archive, db_path, detector)
    assert (summary.new, summary.updated, summary.linked) == (0, 0, 2)
    assert len(frame_rows(db_path)) == frames_before


def test_copies_in_one_run_are_decoded_once(tmp_path: Path, db_path: Path, detector, data_dir: Path) -> None:
    root = tmp_path / "media"
    root.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        shutil.copy(data_dir / "messi5.jpg", root / name)
    summary = index(root, db_path, detector)
    assert (summary.new, summary.linked, summary.frames) == (1, 2, 1)
    store = Store.open(str(db_path))
    frames, paths = store.contents.current_frames()
    assert frames.num_rows == 1
    assert [os.path.basename(p) for p in paths[frames.column("content_id")[0].as_py()]] == ["a.jpg", "b.jpg", "c.jpg"]


def test_failed_files_are_not_retried_until_they_change(tmp_path: Path, db_path: Path, detector,
                                                        data_dir: Path) -> None:
    root = tmp_path / "media"
    root.mkdir()
    bad = root / "photo.jpg"
    bad.write_bytes(b"")
    assert index(root, db_path, detector).failed == 1
    assert index(root, db_path, detector).unchanged == 1
    shutil.copy(data_dir / "messi5.jpg", bad)
    summary = index(root, db_path, detector)
    assert (summary.updated, summary.failed) == (1, 0)
    assert Store.open(str(db_path)).status()["failed"] == 0


def test_megamind_bugy_is_indexed(tmp_path: Path, db_path: Path, detector, data_dir: Path) -> None:
    """OpenCV calls this sample "bugy", but FFmpeg decodes all 270 frames without one error."""
    root = tmp_path / "media"
    root.mkdir()
    shutil.copy(data_dir / "Megamind_bugy.avi", root)
    summary = index(root, db_path, detector)
    assert (summary.new, summary.failed, summary.frames) == (1, 0, 19)
    assert summary.warnings == []


def test_overlapping_roots_index_each_file_once(archive: Path, db_path: Path, detector) -> None:
    store = Store.open(str(db_path), create=True)
    with store.writer():
        summary = run_index([str(archive), str(archive / "videos"), str(archive / "photos" / "rotated.jpg")],
                            store, IndexOptions(), detector=detector)
    assert (summary.new, summary.linked, summary.frames) == (3, 0, 10)
