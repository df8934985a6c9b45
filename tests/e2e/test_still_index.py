"""Indexing with ``reuse_still`` (refcli.index.stillness) end to end: on a video whose frames are
really identical for a while, it stores exactly what detecting every sample stores, with fewer
detector calls (counted on the real detector), whatever the batches; the setting is kept."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import av
import pytest
from conftest import same
from test_cli import cli

from refcli.detect import CountingDetector, Detector
from refcli.detections import Detections
from refcli.index import IndexOptions, IndexSummary, run_index
from refcli.store import Store


def still_then_walking(data_dir: Path, path: Path) -> None:
    """vtest_4s.mp4's first frame held for 3 s, then the 4 s as filmed: losslessly encoded, so the
    held frames decode bit-identical (10 fps)."""
    with av.open(str(data_dir / "vtest_4s.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv444p"
        stream.options = {"qp": "0"}
        for image in [frames[0]] * 30 + frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("still_media")
    still_then_walking(data_dir, root / "held.mp4")
    shutil.copy(data_dir / "vtest_4s.mp4", root / "walking.mp4")
    shutil.copy(data_dir / "messi5.jpg", root / "photo.jpg")
    return root


def index(media: Path, db: Path, detector: Detector, **options: Any) -> IndexSummary:
    store = Store.open(str(db), create=True)
    with store.writer():
        summary = run_index([str(media)], store, IndexOptions(**options), detector=detector)
    assert not summary.failures, summary.failures
    return summary


def stored(db: Path) -> dict[str, list]:
    """Every content row but generation numbers, in a stable order."""
    store = Store.open(str(db))
    out = {}
    for table in ("frames", "tracks", "keyframes"):
        rows = store._read(table).to_pylist()
        for row in rows:
            row.pop("generation")
        out[table] = sorted(rows, key=lambda r: (r["content_id"], r.get("track", r.get("sample"))))
    return out


@pytest.fixture(scope="module")
def baseline(media: Path, tmp_path_factory: pytest.TempPathFactory, detector: Detector) -> tuple[int, dict]:
    counting, db = CountingDetector(detector), tmp_path_factory.mktemp("every") / "db"
    summary = index(media, db, counting, reuse_still=False)
    assert summary.reused == 0 and counting.images == summary.frames == 14 + 8 + 1  # 7 s, 4 s at 2 fps, a photo
    return counting.images, stored(db)


@pytest.mark.parametrize("batch_size", [1, 8])
def test_identical_frames_reuse_boxes_and_store_the_same(media: Path, tmp_path: Path, detector: Detector,
                                                         baseline: tuple[int, dict], batch_size: int) -> None:
    counting = CountingDetector(detector)
    summary = index(media, tmp_path / "db", counting, reuse_still=True, batch_size=batch_size)
    # 0.5 s ... 3.0 s of held.mp4 show the frame of 0 s again; everything after moves
    assert summary.reused == 6 and counting.images == baseline[0] - 6
    assert summary.frames == baseline[0] and summary.people > 0
    assert same(stored(tmp_path / "db"), baseline[1])


def test_the_option_is_saved_and_switching_it_re_indexes_videos_only(media: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "db")
    first = cli("index", str(media), "--db", db, "--reuse-still", "--json")
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["reused"] == 6 and summary["settings"]["reuse_still"] is True
    status = cli("status", "--db", db, "--json")
    assert json.loads(status.stdout)["index_settings"]["reuse_still"] is True
    assert "still frames reuse boxes" in cli("status", "--db", db).stdout
    again = json.loads(cli("index", str(media), "--db", db, "--json").stdout)
    assert again["unchanged"] == 3 and again["settings"]["reuse_still"] is True  # kept from the database
    off = json.loads(cli("index", str(media), "--db", db, "--detect-every-sample", "--json").stdout)
    assert (off["updated"], off["unchanged"], off["reused"]) == (2, 1, 0)  # the photo's signature is the same



class FailsFirst(CountingDetector):
    """The real detector, but its first call raises."""

    def detect(self, images: Sequence[Any]) -> list[Detections]:
        if self.images == 0:
            self.images += len(images)
            raise RuntimeError("out of memory")
        return super().detect(images)


@pytest.mark.parametrize("reuse_still", [False, True])
def test_samples_reusing_boxes_of_a_failed_detection_fail_with_it(media: Path, tmp_path: Path, detector: Detector,
                                                                  reuse_still: bool) -> None:
    store = Store.open(str(tmp_path / "db"), create=True)
    with store.writer():
        summary = run_index([str(media / "held.mp4")], store, IndexOptions(reuse_still=reuse_still),
                            detector=FailsFirst(detector))
    assert [(Path(p.path).name, p.reason) for p in summary.failures] == [("held.mp4", "detector failed: out of memory")]
    assert summary.frames == summary.reused == 0
