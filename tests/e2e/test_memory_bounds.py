"""Pictures and videos far larger than the detector needs, in real `refcli` processes: they are
decoded reduced (memory stays bounded, Pillow's bomb warning never shows), a picture beyond the
decode budget fails alone with its size, and every box stays in the original's displayed pixels:
found, stored, drawn by `show` and answered by `find` where the same people are in the original."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import iou
from PIL import Image
from test_cli import BIN, run_refcli

from refcli.io.image import MAX_DECODE_BYTES, WORKING_LONG_SIDE, decode_picture, reduction
from refcli.io.video import VideoInfo
from refcli.query.frames import Candidate, Frame
from refcli.query.pixels import frame_pixels, with_image
from refcli.render import HitRef, hit_picture
from refcli.store import Store

PHOTO_UP = 8  # messi5.jpg 548x342 -> 4384x2736: reduced by 2
VIDEO_UP = 5.5  # vtest_4s.mp4 768x576 -> 4224x3168: reduced by 2

# A child's ru_maxrss starts at its parent's peak (Linux keeps it across fork and exec), and pytest
# is large: `refcli` runs under a small fresh Python that waits for it and reports its peak.
_WAITER = ("import os, subprocess, sys; p = subprocess.Popen(sys.argv[1:]); _, s, u = os.wait4(p.pid, 0); "
           "sys.stderr.write(f'\\npeak-kib {u.ru_maxrss}\\n'); sys.exit(os.waitstatus_to_exitcode(s))")


def index_peak(path: Path, db: Path) -> tuple[float, dict, str]:
    """Peak RSS (MiB), --json summary and stderr of one `refcli index`, warnings not silenced."""
    env = {k: v for k, v in os.environ.items() if k not in ("REFCLI_DB", "PYTHONWARNINGS")}
    done = subprocess.run([sys.executable, "-c", _WAITER, str(BIN / "refcli"), "index", str(path), "--db", str(db),
                           "--json"], capture_output=True, text=True, env=env, timeout=300)
    stderr, _, peak = done.stderr.rpartition("\npeak-kib ")
    assert done.returncode == 0, stderr
    return int(peak) / 1024, json.loads(done.stdout), stderr


def blank_png(path: Path, width: int, height: int, *, rgb: bool = False) -> None:
    """A white 1-bit (or black RGB) PNG written row by row: a few KB on disk, however many pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" + (bytes(3 * width) if rgb else b"\xff" * -(-width // 8))
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8 if rgb else 1, 2 if rgb else 0, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def test_a_decompression_bomb_png_indexes_in_bounded_memory_and_quietly(tmp_path: Path, data_dir: Path) -> None:
    bomb = tmp_path / "bomb.png"
    blank_png(bomb, 13370, 13370)  # 179 Mpx: decoded whole and converted, 2.2 GB of RSS before
    assert bomb.stat().st_size < 100_000
    baseline, _, _ = index_peak(data_dir / "messi5.jpg", tmp_path / "db0")
    peak, summary, stderr = index_peak(bomb, tmp_path / "db1")
    assert summary["new"] == 1 and summary["failed"] == 0
    assert "DecompressionBomb" not in stderr and "Traceback" not in stderr, stderr
    assert peak < baseline + 600, (peak, baseline)


def test_a_picture_beyond_the_decode_budget_fails_alone_with_its_size(tmp_path: Path, data_dir: Path) -> None:
    root = tmp_path / "media"
    blank_png(root / "huge.png", 8200, 8200, rgb=True)  # stored as RGBX: 257 MiB
    shutil.copy(data_dir / "messi5.jpg", root / "messi5.jpg")
    proc = run_refcli("index", str(root), "--db", str(tmp_path / "db"), "--json")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["new"] == 1 and summary["people"] == 1 and summary["failed"] == 1
    (failure,) = summary["failures"]
    assert failure["path"].endswith("huge.png")
    assert "8200 x 8200" in failure["reason"] and f"{MAX_DECODE_BYTES >> 20} MiB" in failure["reason"]
    assert "\n" not in failure["reason"]


def _upscaled_video(source: Path, target: Path, factor: float, frames: int = 20) -> None:
    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        width, height = int(768 * factor), int(576 * factor)
        encoder = out.add_stream("libx264", rate=10)
        encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
        encoder.options = {"preset": "ultrafast", "crf": "18"}
        for n, frame in enumerate(inp.decode(video=0)):
            if n >= frames:
                break
            big = frame.reformat(width=width, height=height, format="yuv420p", interpolation="BICUBIC")
            big.pts, big.time_base = n, Fraction(1, 10)
            for packet in encoder.encode(big):
                out.mux(packet)
        for packet in encoder.encode():
            out.mux(packet)


@pytest.fixture(scope="module")
def large(tmp_path_factory, data_dir: Path) -> tuple[Path, Path]:
    """The originals and the same media made larger than the working size, indexed together."""
    root = tmp_path_factory.mktemp("large") / "media"
    root.mkdir()
    shutil.copy(data_dir / "messi5.jpg", root / "messi5.jpg")
    shutil.copy(data_dir / "vtest_4s.mp4", root / "vtest.mp4")
    with Image.open(data_dir / "messi5_exif6.jpg") as stored:  # stored sideways, EXIF orientation 6
        big = stored.convert("RGB").resize((stored.width * PHOTO_UP, stored.height * PHOTO_UP),
                                           Image.Resampling.BICUBIC)
        big.save(root / "big_rotated.jpg", quality=92, exif=stored.info["exif"])
    with Image.open(data_dir / "messi5.jpg") as upright:
        upright.convert("RGB").resize((upright.width * PHOTO_UP, upright.height * PHOTO_UP),
                                      Image.Resampling.BICUBIC).save(root / "big.png", compress_level=1)
    _upscaled_video(data_dir / "vtest_4s.mp4", root / "big.mp4", VIDEO_UP)
    db = root.parent / "db"
    proc = run_refcli("index", str(root), "--db", str(db), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["failed"] == 0
    return root, db


def _frames(db: Path) -> dict[str, dict[float | None, dict]]:
    frames, paths = Store.open(str(db)).contents.current_frames()
    out: dict[str, dict[float | None, dict]] = {}
    for frame in frames.to_pylist():
        out.setdefault(Path(paths[frame["content_id"]][0]).name, {})[frame["time"]] = frame
    return out


def _people(frame: dict) -> list[list[float]]:
    return [c["box"] for c in frame["candidates"] if c["score"] >= 0.5]


@pytest.mark.parametrize(("name", "original", "factor", "size"), [
    ("big_rotated.jpg", "messi5.jpg", PHOTO_UP, (4384, 2736)),  # JPEG: reduced by libjpeg, then turned upright
    ("big.png", "messi5.jpg", PHOTO_UP, (4384, 2736)),
    ("big.mp4", "vtest.mp4", VIDEO_UP, (4224, 3168)),  # reduced by FFmpeg
])
def test_boxes_on_reduced_media_are_the_originals_scaled(large, name: str, original: str, factor: float,
                                                         size: tuple[int, int]) -> None:
    _, db = large
    frames = _frames(db)
    big, small = frames[name], frames[original]
    assert max(size) > WORKING_LONG_SIDE and reduction(*size) == 2
    assert {(f["width"], f["height"]) for f in big.values()} == {size}
    common = sorted(set(big) & set(small), key=lambda t: t or 0.0)
    assert len(common) == len(big) >= 1
    for time in common:  # each person of either has a box in the other (scores near 0.5 may swap sides)
        expected = [[v * factor for v in c["box"]] for c in small[time]["candidates"]]
        found = [c["box"] for c in big[time]["candidates"]]
        for box in [[v * factor for v in b] for b in _people(small[time])]:
            assert max(iou(box, other) for other in found) > 0.8, (time, box, found)
        for box in _people(big[time]):
            assert max(iou(box, other) for other in expected) > 0.8, (time, box, expected)


def _outline_red(image: np.ndarray, box: list[float]) -> float:
    """Share of the points on ``box``'s outline (in ``image``'s pixels) that are the drawn red."""
    x1, y1, x2, y2 = (int(round(v)) for v in (box[0] + 2, box[1] + 2, box[2] - 2, box[3] - 2))  # the line is inside
    points = [(x, y) for x in np.linspace(x1, x2, 40).astype(int) for y in (y1, y2)]
    points += [(x, y) for y in np.linspace(y1, y2, 40).astype(int) for x in (x1, x2)]
    h, w = image.shape[:2]
    pixels = np.array([image[min(h - 1, y), min(w - 1, x)] for x, y in points]).astype(int)
    return float(((pixels[:, 0] > 200) & (pixels[:, 1] < 90) & (pixels[:, 2] < 90)).mean())


def test_show_draws_the_box_on_the_person_in_reduced_media(large, tmp_path: Path) -> None:
    _, db = large
    store = Store.open(str(db))
    frames = _frames(db)
    photo = frames["big_rotated.jpg"][None]
    (person,) = [c for c in photo["candidates"] if c["score"] >= 0.5]
    out = tmp_path / "photo.png"
    proc = run_refcli("show", f"{photo['content_id'][:16]}:{person['track']}:0", "--db", str(db), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    drawn = np.asarray(Image.open(out).convert("RGB"))
    assert drawn.shape == (1368, 2192, 3)  # the photo as indexing decoded it: half size
    assert _outline_red(drawn, [v / 2 for v in person["box"]]) > 0.9
    # a video track: its keyframe (1280 px), and a sample without one, decoded from the file (reduced)
    video = frames["big.mp4"]
    content = next(iter(video.values()))["content_id"]
    record, _ = store.contents.lookup(content[:16])
    tracks = store.contents.tracks(content, record.generation, None)
    track = max(tracks.values(), key=lambda t: (len(t["samples"]), -t["track"]))
    assert track["keyframes"] and set(track["samples"]) - set(track["keyframes"])
    for sample in (track["keyframes"][0], min(set(track["samples"]) - set(track["keyframes"]))):
        k = track["samples"].index(sample)
        picture = hit_picture(store, HitRef(content[:16], track["track"], sample))
        scale = picture.shape[1] / 4224  # keyframe: 1280 wide; from the file: 2112
        assert picture.shape[1] in (1280, 2112)
        assert _outline_red(picture, [v * scale for v in track["boxes"][4 * k:4 * k + 4]]) > 0.9, sample


def test_find_answers_in_the_originals_pixels_and_models_get_matching_pixels(large) -> None:
    _, db = large
    proc = run_refcli("find", "person", "--db", str(db), "--json")
    assert proc.returncode == 0, proc.stderr
    hits: dict[str, list[dict]] = {}
    for hit in json.loads(proc.stdout)["hits"]:
        hits.setdefault(Path(hit["path"]).name, []).append(hit)
    (small,), (big,) = hits["messi5.jpg"], hits["big_rotated.jpg"]
    assert iou([v * PHOTO_UP for v in small["box"]], big["box"]) > 0.8
    original = _frames(db)["vtest.mp4"]
    assert hits["big.mp4"]
    for hit in hits["big.mp4"]:
        assert max(iou(hit["box"], [v * VIDEO_UP for v in c["box"]]) for c in original[hit["time"]]["candidates"]) > 0.8
    # what a model backend is given: the picture within the working size, boxes and size in its pixels
    from refcli.refer import ReferRequest

    store = Store.open(str(db))
    for name in ("big_rotated.jpg", "big.mp4"):
        frame = next(f for f in _frames(db)[name].values() if _people(f))
        stored = Frame(frame["content_id"], frame["generation"], frame["sample"], frame["time"], frame["width"],
                       frame["height"], frame["kind"], [Candidate(**c) for c in frame["candidates"]],
                       [str(large[0] / name)])
        picture = frame_pixels(store, stored)
        assert picture is not None and picture.scale == 0.5 and picture.size == (frame["width"], frame["height"])
        boxes = np.array(_people(frame), np.float32)
        request = with_image(store, ReferRequest("person", boxes, np.ones(len(boxes), np.float32),
                                                 (frame["width"], frame["height"])), stored)
        assert request.image is not None and request.size == (request.image.shape[1], request.image.shape[0])
        assert request.size == (-(-frame["width"] // 2), -(-frame["height"] // 2))
        assert np.allclose(request.boxes, boxes / 2)


def test_video_frames_are_reduced_in_stored_orientation() -> None:
    rotated = VideoInfo(width=4320, height=7680, rotation=90, duration=1.0, origin=0.0, codec="h264")
    assert rotated.factor == 2 and rotated.reduced() == {"width": 3840, "height": 2160}
    uhd = VideoInfo(width=3840, height=2160, rotation=0, duration=1.0, origin=0.0, codec="h264")
    assert uhd.factor == 1 and uhd.reduced() == {}


def test_palette_and_grey_pictures_are_reduced_by_a_whole_factor(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    blank_png(path, 9001, 100)  # not a multiple of the factor: the last column still counts
    picture = decode_picture(path.read_bytes())
    assert picture.image.shape == (34, 3001, 3) and picture.scale == pytest.approx(1 / 3)
    assert picture.size == (9001, 100) and picture.image.min() == 255
