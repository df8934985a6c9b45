"""Video sampling: sequential decoding at a target rate, container timestamps, rotation applied.

PyAV is the default decoder; decord is available with ``--decoder decord``. decord was first
in line until measured here (decord 0.6): its memory grows with video length (peak RSS of
`refcli index` 0.92 GB on 1 min of 768x576 video, 1.31 GB on 10 min; PyAV 0.46 and 0.52 GB),
it reports garbage timestamps (-3e17 s) for the first frames of AVI files without pts, it
returns mangled 4-channel frames for 90-degree rotated phone videos, and it conceals damaged
data silently, where PyAV passes on the decoder's error messages (they become the file's
warnings). Both decode at the same speed here. With decord chosen, PyAV still takes over
where decord is known to be wrong.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from refcli.errors import MediaError
from refcli.io.files import regular_path
from refcli.io.image import Picture, reduction

Image = npt.NDArray[np.uint8]

DECODERS = ("auto", "decord", "pyav")
_DECORD_CHUNK = 4  # frames per decord get_batch call: bounds memory for 4K input
MAX_FRAME_PIXELS = 12288 * 8192
"""Larger video frames are refused: FFmpeg's decoder holds a few frames at full size before refcli
can reduce them (12K cinema and 8K 360-degree video pass; an 8K UHD frame is 33 Mpx)."""


@dataclass(frozen=True)
class Sample:
    """One image handed to the detector.

    Attributes:
        index: ordinal of this sample within its file (0, 1, 2, ...).
        time: seconds from the start of the video by the container's timestamps; None for photos.
        image: (H, W, 3) uint8 RGB in displayed orientation, at most the working size
            (refcli.io.image.WORKING_LONG_SIDE): larger frames are reduced while decoded.
        scale: image pixels per displayed pixel of the original (1.0 unless reduced).
        size: the original's displayed (width, height), what boxes are stored in; None: the
            image's own.
    """

    index: int
    time: float | None
    image: Image
    scale: float = 1.0
    size: tuple[int, int] | None = None

    @property
    def displayed_size(self) -> tuple[int, int]:
        return self.size or (self.image.shape[1], self.image.shape[0])


class FrameSampler:
    """Keeps the first frame at or after each tick of a 1/fps grid that starts at t = 0.

    Works from timestamps, not frame counts, so variable frame rates and gaps sample evenly.
    """

    def __init__(self, fps: float) -> None:
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.fps = fps
        self._next = 0.0

    def keep(self, t: float) -> bool:
        if t + 1e-6 < self._next:
            return False
        self._next = (math.floor(t * self.fps + 1e-6) + 1) / self.fps
        return True


@dataclass
class VideoInfo:
    """What the container header says, read with PyAV before decoding."""

    width: int
    height: int
    rotation: int
    duration: float | None
    origin: float
    codec: str

    @property
    def factor(self) -> int:
        """Frames are decoded with their sides divided by this (1 within the working size)."""
        return reduction(self.width, self.height)

    def reduced(self) -> dict[str, int]:
        """FFmpeg's output size for a stored (not yet rotated) frame: {} when not reduced."""
        if self.factor == 1:
            return {}
        width, height = (self.height, self.width) if self.rotation in (90, 270) else (self.width, self.height)
        return {"width": -(-width // self.factor), "height": -(-height // self.factor)}


@dataclass
class VideoReport:
    """Filled while sampling: which decoder ran and what went wrong without stopping it."""

    decoder: str = ""
    warnings: list[str] = field(default_factory=list)
    last_time: float | None = None
    duration: float | None = None
    size: tuple[int, int] | None = None


def quiet_libav() -> Any:
    import av
    import av.logging

    # Route FFmpeg's messages through PyAV (so Capture can count decoder errors per file)
    # and keep them off the user's terminal.
    av.logging.set_level(av.logging.ERROR)
    logging.getLogger("libav").addHandler(logging.NullHandler())
    logging.getLogger("libav").propagate = False
    return av


def probe(path: str) -> VideoInfo:
    """Open the container and decode its first frame (rotation lives on frames in PyAV)."""
    av = quiet_libav()
    try:
        with regular_path(path) as safe, av.open(safe) as container:
            if not container.streams.video:
                raise MediaError("no video stream in file")
            stream = container.streams.video[0]
            _check_frame_size(stream.codec_context.width, stream.codec_context.height)  # before decoding any
            first = next(container.decode(stream), None)
            if first is None:
                raise MediaError("video stream has no decodable frames")
            _check_frame_size(first.width, first.height)
            rotation = int(getattr(first, "rotation", 0) or 0) % 360
            duration = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / 1_000_000
            origin = 0.0
            if stream.start_time is not None and stream.time_base is not None:
                origin = float(stream.start_time * stream.time_base)
            w, h = first.width, first.height
            if rotation in (90, 270):
                w, h = h, w
            return VideoInfo(w, h, rotation, duration, origin, stream.codec_context.name)
    except MediaError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, IndexError) as err:
        raise MediaError(f"not a readable video ({_ffmpeg_reason(err)})") from None


def _check_frame_size(width: int, height: int) -> None:
    if width * height > MAX_FRAME_PIXELS:
        raise MediaError(f"video frames too large to decode: {width} x {height} px "
                         f"(refcli decodes at most {MAX_FRAME_PIXELS // 1_000_000} Mpx)")


def sample_video(path: str, fps: float, *, decoder: str = "auto",
                 report: VideoReport | None = None) -> Iterator[Sample]:
    """Yield frames at ``fps`` by decoding sequentially (seeking is slower on long GOPs).

    Raises MediaError if the file yields no frame at all; damage after the first sample
    ends the stream early with a warning in ``report`` instead, so nothing decoded is lost.
    """
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")
    report = report if report is not None else VideoReport()
    info = probe(path)
    report.duration, report.size = info.duration, (info.width, info.height)
    sampler = FrameSampler(fps)
    count = 0
    if decoder == "decord":
        if info.rotation:
            raise MediaError("decord cannot decode this file correctly: rotated video (use --decoder pyav)")
        try:
            for sample in _decord_samples(path, info, sampler):
                report.decoder = "decord"
                report.last_time = sample.time
                count += 1
                yield sample
            _check_complete(info, report)
            return
        except _DecordUnfit as err:
            if count == 0:
                raise MediaError(f"decord cannot decode this file correctly: {err} (use --decoder pyav)") from None
            report.warnings.append(f"decord stopped ({err}); PyAV decoded the rest")
    report.decoder = "pyav" if count == 0 else "decord+pyav"
    for sample in _pyav_samples(path, info, sampler, report, first_index=count):
        report.last_time = sample.time
        count += 1
        yield sample
    if count == 0:
        raise MediaError("no frame could be decoded")
    _check_complete(info, report)


class _DecordUnfit(Exception):
    """decord cannot be trusted with this file; PyAV takes over from the last good sample."""


def _decord_samples(path: str, info: VideoInfo, sampler: FrameSampler) -> Iterator[Sample]:
    try:
        import decord
    except ImportError as err:  # pragma: no cover - decord is a core dependency
        raise _DecordUnfit("decord is not installed") from err
    decord.logging.set_level(decord.logging.QUIET)
    try:
        with regular_path(path) as safe:
            reader = decord.VideoReader(safe, num_threads=1, **info.reduced())  # not rotated: stored = displayed
        n = len(reader)
        times = reader.get_frame_timestamp(range(n))[:, 0].astype(np.float64) - info.origin if n else np.empty(0)
    except decord.DECORDError as err:
        raise _DecordUnfit(f"decord failed to open it: {str(err).splitlines()[0]}") from None
    if n == 0 or not np.all(np.isfinite(times)) or times[0] < -0.5 or np.any(np.diff(times) < -1e-6):
        raise _DecordUnfit("decord reports invalid timestamps")
    keep = [i for i, t in enumerate(times) if sampler.keep(float(t))]
    for start in range(0, len(keep), _DECORD_CHUNK):
        chunk = keep[start:start + _DECORD_CHUNK]
        try:
            batch = reader.get_batch(chunk).asnumpy()
        except decord.DECORDError as err:
            raise _DecordUnfit(f"decord stopped: {str(err).splitlines()[0]}") from None
        if batch.ndim != 4 or batch.shape[-1] != 3:
            raise _DecordUnfit(f"decord returned frames of shape {batch.shape}")
        for offset, frame_index in enumerate(chunk):
            yield Sample(start + offset, max(0.0, float(times[frame_index])), batch[offset], 1 / info.factor,
                         (info.width, info.height))


def _pyav_samples(path: str, info: VideoInfo, sampler: FrameSampler, report: VideoReport,
                  first_index: int) -> Iterator[Sample]:
    av = quiet_libav()
    index = first_index
    resume_after = report.last_time
    reduced = info.reduced()
    errors: list[Any] = []
    try:
        with regular_path(path) as safe, av.logging.Capture(local=True) as errors, av.open(safe) as container:
            stream = container.streams.video[0]
            stream.thread_type = "SLICE"  # one decoding thread: the detector needs the other core
            period = 1 / float(stream.average_rate) if stream.average_rate else 0.04
            previous: float | None = None
            for frame in container.decode(stream):
                t = frame.time - info.origin if frame.time is not None else (
                    previous + period if previous is not None else 0.0)
                previous = t
                if resume_after is not None and t <= resume_after + 1e-6:
                    continue
                if not sampler.keep(t):
                    continue
                image = frame.to_ndarray(format="rgb24", **reduced)  # reduced by FFmpeg, from YUV
                if info.rotation:
                    image = np.ascontiguousarray(np.rot90(image, k=info.rotation // 90))
                yield Sample(index, max(0.0, t), image, 1 / info.factor, (info.width, info.height))
                index += 1
    except (av.error.FFmpegError, OSError) as err:
        if index == first_index:
            raise MediaError(f"not a readable video ({_ffmpeg_reason(err)})") from None
        report.warnings.append(f"decoding stopped after {report.last_time or 0:.1f} s: {_ffmpeg_reason(err)}")
    damaged = [e for e in errors if e[0] <= av.logging.ERROR]
    if damaged:
        report.warnings.append(f"{len(damaged)} decoder errors (damaged data concealed), first: "
                               f"{damaged[0][2].strip()}")


def _check_complete(info: VideoInfo, report: VideoReport) -> None:
    if info.duration and report.last_time is not None:
        missing = info.duration - report.last_time
        if missing > max(2.0, 0.05 * info.duration):
            report.warnings.append(
                f"frames end at {report.last_time:.1f} s of {info.duration:.1f} s: file truncated?")


def _ffmpeg_reason(err: BaseException) -> str:
    text = getattr(err, "strerror", None) or str(err)
    return str(text).strip().splitlines()[0].rstrip(":").lower()


def frame_at(path: str, time: float) -> Picture:
    """The displayed frame at ``time`` seconds (as sampled: the first frame at or after it),
    reduced to the working size as sampling reduces it.

    Seeks to the keyframe before ``time`` and decodes forward, so it costs at most one GOP.
    """
    info = probe(path)
    av = quiet_libav()
    try:
        with regular_path(path) as safe, av.open(safe) as container:
            stream = container.streams.video[0]
            target = time + info.origin
            if stream.time_base is not None and time > 0:
                container.seek(int(max(0.0, target - 0.001) / stream.time_base), stream=stream, backward=True)
            last = None
            for frame in container.decode(stream):
                last = frame
                if frame.time is not None and frame.time >= target - 1e-3:
                    break
            if last is None:
                raise MediaError(f"no frame at {time:.2f} s")
            image = last.to_ndarray(format="rgb24", **info.reduced())
    except (av.error.FFmpegError, OSError) as err:
        raise MediaError(f"cannot read the frame at {time:.2f} s ({_ffmpeg_reason(err)})") from None
    if info.rotation:
        image = np.ascontiguousarray(np.rot90(image, k=info.rotation // 90))
    return Picture(image, 1 / info.factor, (info.width, info.height))
