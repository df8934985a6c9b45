"""A file's samples, as every executor decodes them: a photo is one sample, a video is sampled
at the index fps. Also hashes the file's whole content on the way (kept in the media row)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from refcli.errors import MediaError
from refcli.index.options import IndexOptions
from refcli.index.plan import Job
from refcli.io.files import full_hash, read_regular
from refcli.io.image import decode_picture
from refcli.io.video import Sample, VideoReport, sample_video

BATCH_BYTES = 48 << 20
"""A detector batch is sent when it holds this many bytes of frames, full or not: 8 frames of
1080p still make a batch, 4K frames go three at a time instead of piling up."""


def batch_full(batch: Sequence[Sample], batch_size: int) -> bool:
    """Whether a batch of samples is due for the detector: by count, or by bytes."""
    return len(batch) >= batch_size or sum(sample.image.nbytes for sample in batch) >= BATCH_BYTES


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
