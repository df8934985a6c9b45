"""Tracking on real pixels: known trajectories, stable ids, frames linked to tracks, keyframes."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from refcli.detections import NO_TRACK, Detections
from refcli.index import IndexOptions, run_index
from refcli.keyframes import KeyframePicker, encode_keyframe
from refcli.query import find
from refcli.refer import create_referrer
from refcli.store import Store
from refcli.track import ByteTrackTracker, TrackBuilder

SAMPLE = 0.5  # seconds between samples at the default 2 fps


def index(root: Path, db: Path, detector, **options) -> Store:
    store = Store.open(str(db), create=True)
    with store.writer():
        run_index([str(root)], store, IndexOptions(**options), detector=detector)
    return store


def video_tracks(store: Store) -> list[dict]:
    (record,) = [m for m in store.contents.media().values() if m.kind == "video"]
    return sorted(store.contents.tracks(record.content_id, record.generation).values(), key=lambda t: t["track"])


@pytest.fixture(scope="module")
def composite(tmp_path_factory, detector, data_dir: Path) -> Store:
    root = tmp_path_factory.mktemp("composite")
    shutil.copy(data_dir / "composite_walkers.mp4", root)
    return index(root, root.parent / "composite-db", detector)


def test_known_trajectories_give_one_track_each(composite: Store, data_dir: Path) -> None:
    """Four real people pasted on known paths (tests/data/make_composite.py); A is hidden for 1 s."""
    truth = json.loads((data_dir / "composite_walkers.json").read_text())
    tracks = [t for t in video_tracks(composite) if len(t["samples"]) > 1]
    assert len(tracks) == len(truth) == 4
    last_frame = 11.9  # 120 frames at 10 fps
    for expected in truth.values():
        start, end = expected["start"], min(expected["end"], last_frame)
        matching = [t for t in tracks if abs(t["start"] - start) <= SAMPLE and abs(t["end"] - end) <= SAMPLE]
        assert len(matching) == 1, (expected, [(t["start"], t["end"]) for t in tracks])
    walker_a = min(tracks, key=lambda t: t["start"])
    assert walker_a["start"] == 0.0 and walker_a["end"] == 8.0  # survived the occlusion at 3.5-4.5 s
    assert 3.5 not in walker_a["times"] and 4.0 not in walker_a["times"]


def test_frames_name_every_candidate_with_its_track(composite: Store) -> None:
    frames, _ = composite.contents.current_frames()
    tracks = {t["track"]: t for t in video_tracks(composite)}
    for frame in frames.to_pylist():
        for candidate in frame["candidates"]:
            if candidate["score"] >= 0.3:
                assert candidate["track"] != NO_TRACK
            if candidate["track"] != NO_TRACK:
                track = tracks[candidate["track"]]
                k = track["samples"].index(frame["sample"])
                assert track["boxes"][4 * k:4 * k + 4] == pytest.approx(candidate["box"])
                assert track["times"][k] == frame["time"]


def test_keyframes_are_big_jpegs_spread_over_the_track(composite: Store) -> None:
    (record,) = [m for m in composite.contents.media().values() if m.kind == "video"]
    for track in video_tracks(composite):
        assert 1 <= len(track["keyframes"]) <= 3
        assert set(track["keyframes"]) <= set(track["samples"])
        for sample in track["keyframes"]:
            frame = composite.contents.keyframe(record.content_id, record.generation, sample)
            picture = Image.open(io.BytesIO(frame["jpeg"]))
            assert picture.format == "JPEG" and picture.size == (768, 576)  # original size: under 1280 px
    longest = max(video_tracks(composite), key=lambda t: len(t["samples"]))
    times = [longest["times"][longest["samples"].index(s)] for s in longest["keyframes"]]
    assert len(times) == 3 and times[-1] - times[0] >= (longest["end"] - longest["start"]) / 3


def test_find_answers_one_hit_per_person(composite: Store) -> None:
    result = find(composite, "person", create_referrer("embedded"))
    spans = sorted((h.start, h.end) for h in result.hits if h.end != h.start)
    tracks = sorted((t["start"], t["end"]) for t in video_tracks(composite) if len(t["samples"]) > 1)
    assert spans == tracks
    for hit in result.hits:
        assert hit.kind == "video" and hit.start <= hit.time <= hit.end


def test_reindexing_gives_the_same_track_ids(tmp_path: Path, detector, data_dir: Path) -> None:
    root = tmp_path / "media"
    root.mkdir()
    shutil.copy(data_dir / "vtest_4s.mp4", root)
    first = [(t["track"], t["samples"], t["boxes"]) for t in video_tracks(index(root, tmp_path / "a", detector))]
    second = [(t["track"], t["samples"], t["boxes"]) for t in video_tracks(index(root, tmp_path / "b", detector))]
    assert first == second and len(first) >= 5


def test_photos_are_one_frame_tracks_without_stored_keyframes(tmp_path: Path, detector, data_dir: Path) -> None:
    root = tmp_path / "media"
    root.mkdir()
    shutil.copy(data_dir / "messi5.jpg", root)
    store = index(root, tmp_path / "db", detector)
    (record,) = store.contents.media().values()
    (track,) = store.contents.tracks(record.content_id, record.generation).values()
    assert track["samples"] == [0] and track["times"] == [None] and track["start"] is None
    assert track["keyframes"] == []


def test_without_tracking_every_box_is_its_own_track(tmp_path: Path, detector, data_dir: Path) -> None:
    root = tmp_path / "media"
    root.mkdir()
    shutil.copy(data_dir / "vtest_4s.mp4", root)
    tracked = video_tracks(index(root, tmp_path / "a", detector))
    untracked = video_tracks(index(root, tmp_path / "b", detector, tracking=False, keyframes=False))
    assert all(len(t["samples"]) == 1 for t in untracked)
    assert len(untracked) > len(tracked)


def walker(n: int, steps: int = 400) -> list[Detections]:
    """n synthetic people walking right, one box each per sample (for state checks, not quality)."""
    out = []
    for k in range(steps):
        xs = np.array([(40 * i + 3 * k) % 700 for i in range(n)], np.float32)
        boxes = np.stack([xs, np.full(n, 100), xs + 30, np.full(n, 180)], axis=1)
        out.append(Detections(boxes, np.full(n, 0.9, np.float32)))
    return out


def test_builder_state_does_not_grow_with_video_length() -> None:
    image = np.zeros((300, 800, 3), np.uint8)
    builder = TrackBuilder("ab", 1, ByteTrackTracker(2.0), store_keyframes=True)
    peak_images = peak_alive = 0
    for k, dets in enumerate(walker(3, steps=2000)):
        builder.add(k, k / 2, dets, image)
        peak_alive = max(peak_alive, len(builder._alive), len(builder._compact))
        peak_images = max(peak_images, len(builder._images))
    # Bounded by the people on screen, not by the 2,000 samples: each live track pins at most
    # its keyframe candidates (3, +1 while windows merge) plus the frame awaiting emission.
    assert peak_alive <= 3 + 3
    assert peak_images <= 4 * peak_alive + 1
    assert builder.finish().tracks


def test_keyframe_picker_spreads_and_limits() -> None:
    picker = KeyframePicker(start=0.0, limit=3)
    for k in range(120):  # 60 s, quality peaks at 10 s, 30 s and 50 s
        t = k / 2
        picker.offer(t, k, quality=-min(abs(t - 10), abs(t - 30), abs(t - 50)))
    chosen = picker.chosen()
    assert len(chosen) <= 3
    times = [t for _, t in chosen]
    assert times[-1] - times[0] >= 20


def test_keyframes_keep_at_least_768_px_or_the_original_size() -> None:
    big = encode_keyframe(np.zeros((2160, 3840, 3), np.uint8))
    small = encode_keyframe(np.zeros((240, 320, 3), np.uint8))
    assert max(big.width, big.height) >= 768 and big.scale == pytest.approx(big.width / 3840)
    assert (small.width, small.height, small.scale) == (320, 240, 1.0)
