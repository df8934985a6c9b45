"""One file through the stages after decoding: detections in, tracked rows out, then how it ended.

Both executors drive a ``FileRun`` per file (the local one from its decoding thread's samples,
the Ray task from its actors' answers), so a file stores the same rows and ends with the same
words wherever it ran. What is left to an executor is where decoding and detection happen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from refcli.detections import Detections
from refcli.errors import MediaError
from refcli.features import Feature
from refcli.index.options import IndexOptions
from refcli.index.plan import Job
from refcli.io.files import PathError
from refcli.io.video import Sample, VideoReport
from refcli.track import ByteTrackTracker, Rows, TrackBuilder


@dataclass
class FileOutcome:
    """How indexing one file ended: an error, or what it stored under ``generation``.

    ``path_problem``: the error is about the path (it vanished, ``missing``, or is no longer a
    regular readable file), not about the content: it is recorded on the path alone.
    """

    error: str | None
    report: VideoReport | None = None
    generation: int = 0
    size: tuple[int, int] | None = None
    samples: int = 0
    reused: int = 0  # samples that reused the last detected boxes (refcli.index.stillness)
    people: int = 0
    detections: int = 0
    full_hash: str | None = None
    row_counts: dict[str, int] | None = None
    joins: list[int] | None = None  # a video's joined track pieces, (track, next) flat (refcli.relink)
    path_problem: bool = False
    missing: bool = False


def failure(err: BaseException | str) -> str:
    """The one line a file's failure is recorded with: refcli's own errors as they are, anything
    else (a strange file must never end the run) named by its type."""
    if isinstance(err, str | MediaError):
        return str(err)
    text = str(err).splitlines()[0] if str(err) else ""
    return f"unexpected {type(err).__name__}: {text}"


def new_builder(job: Job, generation: int, options: IndexOptions, features: list[Feature]) -> TrackBuilder:
    """The TrackBuilder for one file, the same in local and Ray runs (so they store the same)."""
    tracker = ByteTrackTracker(options.fps) if job.kind == "video" and options.tracking else None
    return TrackBuilder(job.content_id, generation, tracker, store_keyframes=options.keyframes and job.kind == "video",
                        features=features)


class FileRun:
    """Tracks one file's detections into rows; the first error ends it (its rows become unreachable).

    ``generation`` is asked for when the first detections arrive (a file that never decodes
    takes none).
    """

    def __init__(self, job: Job, options: IndexOptions, generation: Callable[[], int], features: list[Feature]) -> None:
        self.job, self.options = job, options
        self._generation = generation
        self.features = features
        self.report: VideoReport | None = None  # the decoder's, once it is done with the file
        self.builder: TrackBuilder | None = None
        self.samples = 0
        self.reused = 0
        self._last: Detections | None = None  # of the last sample the detector saw
        self.size: tuple[int, int] | None = None
        self.error: str | None = None
        self.path_problem: PathError | None = None

    def add(self, sample: Sample, detections: Detections | None) -> Rows:
        """The rows that became final with this sample (none after an error).

        ``detections`` None: nothing moved since the last sample the detector saw
        (decode.gate), whose boxes this one reuses; tracking and features still see this
        sample's own image.
        """
        if self.error is not None:
            return Rows()
        if detections is None:
            if self._last is None:
                self.fail("no detections to reuse: the first sample must be detected")
                return Rows()
            detections = _copy(self._last)
            self.reused += 1
        else:
            self._last = detections
        if self.builder is None:
            self.builder = new_builder(self.job, self._generation(), self.options, self.features)
            self.size = sample.displayed_size
        self.samples += 1
        try:
            return self.builder.add(sample.index, sample.time, detections, sample.image, sample.scale, sample.size)
        except Exception as err:  # tracking trouble costs this file, not the run
            self.error = f"tracking failed: {type(err).__name__}: {err}"
            return Rows()

    def fail(self, err: BaseException | str) -> None:
        """Record why the file cannot be indexed (the first reason wins)."""
        if self.error is None:
            self.error = failure(err)
            self.path_problem = err if isinstance(err, PathError) else None

    def detector_failed(self, err: object) -> None:
        self.fail(f"detector failed: {err}")

    def finish(self) -> tuple[Rows, FileOutcome]:
        """The file's last rows and how it ended."""
        rows = Rows()
        if self.error is None and self.builder is not None:
            rows = self.builder.finish()
        elif self.error is None:
            self.error = "no frame could be decoded"
        builder, problem = self.builder, self.path_problem
        return rows, FileOutcome(
            error=self.error, report=self.report, generation=builder.generation if builder else 0, size=self.size,
            samples=self.samples, reused=self.reused, people=builder.people if builder else 0,
            detections=builder.detections if builder else 0, full_hash=self.job.full_hash,
            row_counts=builder.row_counts if builder else None, joins=builder.joins() if builder else None,
            path_problem=problem is not None, missing=problem.missing if problem else False)


def _copy(detections: Detections) -> Detections:
    """Reused boxes as arrays of their own: no stage may change another sample's through them."""
    return Detections(detections.xyxy.copy(), detections.confidence.copy(), detections.tracker_id.copy(),
                      {k: v.copy() for k, v in detections.data.items()})
