from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from refcli.errors import MediaError
from refcli.io.video import FrameSampler, VideoReport, probe, sample_video


def test_sampler_keeps_first_frame_at_each_tick() -> None:
    sampler = FrameSampler(2.0)
    times = [i / 29.97 for i in range(90)]  # 3 s of NTSC
    kept = [t for t in times if sampler.keep(t)]
    assert [round(t, 3) for t in kept] == [0.0, 0.501, 1.001, 1.502, 2.002, 2.503]


def test_sampler_handles_gaps_and_variable_rate() -> None:
    sampler = FrameSampler(1.0)
    kept = [t for t in [0.0, 0.3, 0.9, 5.2, 5.4, 6.0, 6.1] if sampler.keep(t)]
    assert kept == [0.0, 5.2, 6.0]


def test_sampler_rejects_bad_rate() -> None:
    with pytest.raises(ValueError):
        FrameSampler(0)


@pytest.mark.parametrize("decoder", ["decord", "pyav"])
def test_samples_at_container_timestamps(data_dir: Path, decoder: str) -> None:
    report = VideoReport()
    samples = list(sample_video(str(data_dir / "vtest_4s.mp4"), 2.0, decoder=decoder, report=report))
    assert [s.time for s in samples] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5])
    assert [s.index for s in samples] == list(range(8))
    assert samples[0].image.shape == (576, 768, 3) and samples[0].image.dtype == np.uint8
    assert report.decoder == decoder and report.warnings == []


def test_decoders_agree_on_pixels(data_dir: Path) -> None:
    a = list(sample_video(str(data_dir / "vtest_4s.mp4"), 1.0, decoder="decord"))
    b = list(sample_video(str(data_dir / "vtest_4s.mp4"), 1.0, decoder="pyav"))
    assert len(a) == len(b) == 4
    for x, y in zip(a, b):
        assert np.abs(x.image.astype(int) - y.image.astype(int)).mean() < 2.0


def test_phone_rotation_is_applied(data_dir: Path) -> None:
    info = probe(str(data_dir / "vtest_4s_rot90.mp4"))
    assert info.rotation == 90 and (info.width, info.height) == (768, 576)
    report = VideoReport()
    rotated = list(sample_video(str(data_dir / "vtest_4s_rot90.mp4"), 2.0, report=report))
    upright = list(sample_video(str(data_dir / "vtest_4s.mp4"), 2.0))
    assert report.decoder == "pyav"  # decord mangles 90-degree rotations; auto falls back
    assert rotated[0].image.shape == upright[0].image.shape == (576, 768, 3)
    for r, u in zip(rotated, upright):
        assert np.abs(r.image.astype(int) - u.image.astype(int)).mean() < 4.0  # same picture, re-encoded


def test_avi_without_timestamps_falls_back_to_pyav(data_dir: Path) -> None:
    # decord reports -3e17 s for the first frames of this AVI; PyAV's times are right.
    report = VideoReport()
    samples = list(sample_video(str(data_dir / "Megamind_bugy.avi"), 2.0, report=report))
    assert report.decoder == "pyav"
    assert len(samples) == 19
    assert samples[0].time == pytest.approx(1 / 30, abs=1e-6)
    assert samples[-1].time == pytest.approx(9.0, abs=0.05)
    with pytest.raises(MediaError, match="decord"):
        list(sample_video(str(data_dir / "Megamind_bugy.avi"), 2.0, decoder="decord"))


@pytest.mark.parametrize(("make", "reason"), [
    (lambda p, d: p.write_text("hello\n" * 100), "not a readable video"),
    (lambda p, d: p.write_bytes(b""), "not a readable video"),
    (lambda p, d: p.write_bytes((d / "vtest_4s.mp4").read_bytes()[:100_000]), "not a readable video"),
])
def test_unreadable_videos_raise_media_error(tmp_path: Path, data_dir: Path, make, reason: str) -> None:
    path = tmp_path / "bad.mp4"
    make(path, data_dir)
    with pytest.raises(MediaError, match=reason):
        list(sample_video(str(path), 2.0))


def test_damaged_data_is_decoded_with_warnings(tmp_path: Path, data_dir: Path) -> None:
    data = bytearray((data_dir / "Megamind_bugy.avi").read_bytes())
    rng = np.random.default_rng(7)
    for offset in range(150_000, len(data) - 50_000, 150_000):
        data[offset:offset + 3000] = rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()
    path = tmp_path / "garbled.avi"
    path.write_bytes(bytes(data))
    report = VideoReport()
    samples = list(sample_video(str(path), 2.0, report=report))
    assert len(samples) >= 15  # nothing that decodes is lost
    assert any("decoder errors" in w for w in report.warnings)


def test_truncated_avi_keeps_what_decodes(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "half.avi"
    shutil.copy(data_dir / "Megamind_bugy.avi", path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    samples = list(sample_video(str(path), 2.0))
    assert 5 <= len(samples) < 19
