"""A file's samples, as every executor decodes them: a photo is one sample, a video is sampled
at the index fps. Also hashes the file's whole content on the way (kept in the media row), and
says which samples the detector must see (``gate``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from refcli.errors import MediaError
from refcli.index.options import IndexOptions
from refcli.index.plan import Job
from refcli.index.stillness import StillGate
from refcli.io.files import full_hash, read_regular
from refcli.io.image import decode_picture
from refcli.io.video import Sample, VideoReport, sample_video

BATCH_BYTES = 48 << 20
"""A detector batch is sent when it holds this many bytes of frames, full or not: 8 frames of
1080p still make a batch, 4K frames go three at a time instead of piling up."""


def batch_full(batch: Sequence[Sample], batch_size: int, detected: int | None = None) -> bool:
    """Whether a batch of samples is due for the detector: by count, or by bytes.

    ``detected``: how many of them the detector sees (the others wait in the batch to reuse
    boxes, refcli.index.stillness); None: all. The count is of those, the bytes of all held.
    """
    count = len(batch) if detected is None else detected
    return count >= batch_size or sum(sample.image.nbytes for sample in batch) >= BATCH_BYTES


def gate(job: Job, options: IndexOptions) -> Callable[[Sample], bool]:
    """Whether each of the file's samples, asked in order, goes to the detector (False: it
    reuses the detections of the last one that did, FileRun.add with None). Every sample of a
    photo, or of a video indexed without ``reuse_still``, does."""
    if job.kind != "video" or not options.reuse_still:
        return lambda sample: True
    still = StillGate(options.fps)
    return lambda sample: still.detect(sample.image)


def new_report(job: Job) -> VideoReport | None:
    """What decoding a video reports (warnings, duration); photos have none."""
    return VideoReport() if job.kind == "video" else None


def samples(job: Job, options: IndexOptions, report: VideoReport | None) -> Iterator[tuple[Sample, float | None]]:
    """The file's samples, each with how far through the file it is; sets ``job.full_hash``.

    ``report`` (videos; None for photos) collects the decoder's warnings and the duration.
    """
    if job.file_rows[0]["size"] == 0:
        raise MediaError("empty file (0 bytes)")
    if report is None:
        data = read_regular(job.path)
        job.full_hash = full_hash(data)
        picture = decode_picture(data)
        del data  # the generator would keep the file's bytes while its picture waits for the detector
        yield Sample(0, None, picture.image, picture.scale, picture.size), 1.0
        return
    for sample in sample_video(job.path, options.fps, decoder=options.decoder, report=report):
        fraction = sample.time / report.duration if report.duration and sample.time is not None else None
        yield sample, fraction
    job.full_hash = full_hash(path=job.path)  # after decoding: a file that is not video costs no full read
