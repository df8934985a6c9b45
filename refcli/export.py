"""`refcli export --clips`: each video hit cut into a playable H.264 MP4, photos with their box."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from refcli.errors import MediaError, OutputPathError, RefcliError, StoreError
from refcli.query.hits import Hit
from refcli.render import HitRef, draw_box, hit_picture, holding_file, make_output_folder, save_png
from refcli.store import Store


@dataclass
class Exported:
    hit: Hit
    path: str | None
    error: str | None = None
    seconds: float | None = None


def _name(rank: int, hit: Hit, suffix: str) -> str:
    stem = re.sub(r"[^\w.-]+", "_", Path(hit.path).stem)[:40]
    return f"{rank:03d}-{stem}-{hit.id.replace(':', '-')}{suffix}"


def export_hits(store: Store, hits: list[Hit], folder: str, *, boxes: bool = False,
                margin: float = 1.0) -> list[Exported]:
    """Write one file per hit into ``folder``; a hit that cannot be exported is reported, not fatal."""
    make_output_folder(folder)
    out = []
    for rank, hit in enumerate(hits, 1):
        try:
            if hit.kind == "video":
                target = os.path.join(folder, _name(rank, hit, ".mp4"))
                seconds = cut_clip(store, hit, target, boxes=boxes, margin=margin)
                out.append(Exported(hit, target, seconds=seconds))
            else:
                target = os.path.join(folder, _name(rank, hit, ".png"))
                save_png(hit_picture(store, HitRef.parse(hit.id)), target)
                out.append(Exported(hit, target))
        except (StoreError, OutputPathError):
            raise  # the database or the folder: every other hit would fail alike
        except (RefcliError, OSError) as err:
            out.append(Exported(hit, None, error=str(err)))
    return out


def _track_boxes(store: Store, hit: Hit) -> tuple[list[float], list[list[float]]]:
    record, _ = store.contents.lookup(hit.content_id[:16])
    if hit.track is None:
        return [], []
    track = store.contents.tracks(record.content_id, record.generation, [hit.track]).get(hit.track)
    if track is None:
        return [], []
    return track["times"], [track["boxes"][4 * k:4 * k + 4] for k in range(len(track["samples"]))]


def box_at_time(times: list[float], boxes: list[list[float]], t: float, tolerance: float) -> list[float] | None:
    """The track's box at ``t``, interpolated between samples; None outside the track."""
    if not times or t < times[0] - tolerance or t > times[-1] + tolerance:
        return None
    k = int(np.searchsorted(times, t))
    if k == 0:
        return boxes[0]
    if k >= len(times):
        return boxes[-1]
    t0, t1 = times[k - 1], times[k]
    if t1 - t0 > 3 * tolerance:  # a gap (occlusion): show the nearer sample's box only near it
        near = k - 1 if t - t0 < t1 - t else k
        return boxes[near] if abs(times[near] - t) <= tolerance else None
    w = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
    return [a + (b - a) * w for a, b in zip(boxes[k - 1], boxes[k])]


def cut_clip(store: Store, hit: Hit, target: str, *, boxes: bool, margin: float) -> float:
    """Decode the hit's time range (plus ``margin`` seconds each side) and encode it; returns seconds written."""
    import av

    from refcli.io.files import regular_path
    from refcli.io.video import probe, quiet_libav

    source, _ = holding_file(*store.contents.lookup(hit.content_id[:16]))
    info = probe(source)
    start = max(0.0, (hit.start or 0.0) - margin)
    end = (hit.end or 0.0) + margin
    if info.duration:
        end = min(end, info.duration)
    times, track_boxes = _track_boxes(store, hit) if boxes else ([], [])
    quiet_libav()
    written = 0
    first = last = None
    try:
        with regular_path(source) as safe, av.open(safe) as inp, av.open(target, "w") as out:
            stream = inp.streams.video[0]
            rate = stream.average_rate or 25
            encoder = out.add_stream("libx264", rate=rate)
            encoder.pix_fmt = "yuv420p"
            encoder.options = {"crf": "23", "preset": "veryfast"}
            if start > 0 and stream.time_base is not None:
                inp.seek(int((start + info.origin) / stream.time_base), stream=stream, backward=True)
            period = 1 / float(rate)
            for frame in inp.decode(stream):
                if frame.time is None:
                    continue
                t = frame.time - info.origin
                if t < start - 1e-6:
                    continue
                if t > end + 1e-6:
                    break
                image: np.ndarray = np.asarray(frame.to_ndarray(format="rgb24"), np.uint8)
                if info.rotation:
                    image = np.ascontiguousarray(np.rot90(image, k=info.rotation // 90))
                if boxes:
                    box = box_at_time(times, track_boxes, t, tolerance=max(period, 0.6))
                    if box is not None:
                        image = draw_box(image, box)
                if written == 0:
                    encoder.width, encoder.height = image.shape[1] // 2 * 2, image.shape[0] // 2 * 2
                image = np.ascontiguousarray(image[:encoder.height, :encoder.width])  # H.264 wants even sizes
                for packet in encoder.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    out.mux(packet)
                written += 1
                first = t if first is None else first
                last = t
            for packet in encoder.encode():
                out.mux(packet)
    except (av.error.FFmpegError, MediaError) as err:
        raise RefcliError(f"cannot cut {source}: {err}") from None
    if written == 0:
        os.unlink(target)
        raise RefcliError(f"no frames between {start:.1f} s and {end:.1f} s in {source}")
    return (last - first) + 1 / float(rate) if first is not None and last is not None else 0.0
