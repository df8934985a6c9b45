"""The stillness rule (refcli.index.stillness) on real frames: noise and compression are not
motion, a person walking is; the gate compares with the last detected sample and refreshes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from refcli.config import IndexSettings
from refcli.index.plan import pipeline_signature
from refcli.index.stillness import STILLNESS, StillGate, Stillness, changed, thumbnail
from refcli.io.video import sample_video


@pytest.fixture(scope="module")
def frames(data_dir: Path) -> list[np.ndarray]:
    """vtest_4s.mp4 at 2 fps: a plaza with people walking, half a second apart."""
    return [s.image for s in sample_video(str(data_dir / "vtest_4s.mp4"), 2.0)]


def noisy(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    out = io.BytesIO()
    Image.fromarray(image).save(out, "JPEG", quality=quality)
    return np.asarray(Image.open(out).convert("RGB"))


def test_thumbnail_is_small_grayscale(frames: list[np.ndarray]) -> None:
    thumb = thumbnail(frames[0])
    assert thumb.shape == (48, 64) and thumb.dtype == np.uint8  # 768 x 576 box-averaged by 12


def test_the_same_frame_with_noise_or_recompressed_is_still(frames: list[np.ndarray]) -> None:
    frame = frames[0]
    base = thumbnail(frame)
    assert not changed(base, thumbnail(frame))
    for seed in range(3):
        assert not changed(base, thumbnail(noisy(frame, 4.0, seed)))  # sensor noise, sigma 4 levels
    assert not changed(base, thumbnail(jpeg(frame, 40)))  # heavy compression
    assert not changed(thumbnail(noisy(frame, 4.0, 1)), thumbnail(jpeg(noisy(frame, 4.0, 2), 60)))


def test_people_walking_half_a_second_apart_is_a_change(frames: list[np.ndarray]) -> None:
    thumbs = [thumbnail(f) for f in frames]
    assert all(changed(a, b) for a, b in zip(thumbs, thumbs[1:]))


def test_any_one_person_moving_a_little_on_a_still_scene_is_a_change(data_dir: Path, people: dict) -> None:
    """Each hand-checked person of vtest_4s.mp4 (people.json, 20 to 68 px wide), alone moved by a
    quarter of their width on an otherwise unchanged frame."""
    images = {s.time: s.image for s in sample_video(str(data_dir / "vtest_4s.mp4"), 2.0)}
    for when, boxes in people["vtest_4s.mp4"].items():
        frame = images[float(when)]
        for x1, y1, x2, y2 in boxes:
            x2 = min(x2, frame.shape[1])
            step = max(1, (x2 - x1) // 4) * (1 if x2 + (x2 - x1) // 4 <= frame.shape[1] else -1)
            moved = frame.copy()
            moved[y1:y2, x1 + step:x2 + step] = frame[y1:y2, x1:x2]
            assert changed(thumbnail(frame), thumbnail(moved)), (when, [x1, y1, x2, y2])


def test_different_sizes_are_a_change(frames: list[np.ndarray]) -> None:
    assert changed(thumbnail(frames[0]), thumbnail(frames[0][:, :700]))


def test_the_gate_compares_with_the_last_detected_sample_so_drift_adds_up(frames: list[np.ndarray]) -> None:
    """Each step brightens by less than the noise level; the sum of them forces a detection."""
    gate = StillGate(fps=2.0, rule=Stillness(refresh_seconds=1000))
    frame = frames[0].astype(np.int16)
    answers = [gate.detect(np.clip(frame + 3 * step, 0, 255).astype(np.uint8)) for step in range(12)]
    assert [i for i, a in enumerate(answers) if a] == [0, 4, 8]  # 12 levels from the detected one > 10


def test_the_gate_detects_the_first_sample_and_refreshes(frames: list[np.ndarray]) -> None:
    gate = StillGate(fps=2.0)  # refresh every 4 s: every 8th sample
    answers = [gate.detect(noisy(frames[0], 2.0, i)) for i in range(20)]
    assert [i for i, a in enumerate(answers) if a] == [0, 8, 16]
    moving = StillGate(fps=2.0)
    assert all(moving.detect(f) for f in frames)


def test_settings_saved_before_the_option_keep_detecting_every_sample() -> None:
    old = '{"detector": "ssdlite", "detector_model": null, "faces": false, "fps": 2.0, "pose": false}'
    assert IndexSettings.from_json(old).reuse_still is False
    assert IndexSettings.from_json(IndexSettings(reuse_still=True).to_json()).reuse_still is True
    # detecting every sample keeps the signature a refcli without the option gave
    assert pipeline_signature(kind="video", detector_version="d", fps=2) == \
        pipeline_signature(kind="video", detector_version="d", fps=2, still=None)
    reused = pipeline_signature(kind="video", detector_version="d", fps=2, still=STILLNESS.version)
    assert reused != pipeline_signature(kind="video", detector_version="d", fps=2)
    assert pipeline_signature(kind="image", detector_version="d", fps=2, still=STILLNESS.version) == \
        pipeline_signature(kind="image", detector_version="d", fps=2)
