"""`refcli index`: discover -> plan -> decode (thread) -> detect (batches) -> track -> store.

Decoding runs in one background thread with a queue bounded by frames and by bytes, overlapping
the detector on the main thread (both release the GIL in their native code); frames larger than
the working size are reduced while decoded (refcli.io.image), so what is in flight is bounded
whatever the input. Each file streams through a TrackBuilder into rows that are written as they
become final, under a generation that becomes current only when the file's media row is
switched, so an interrupted run keeps every finished file and memory does not grow with video
length.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from refcli import __version__, faults
from refcli.config import IndexSettings, resolve
from refcli.defaults import DEFAULT_FPS, PEOPLE_MIN_SCORE
from refcli.detect import DEFAULT_DETECTOR, Detector, create_detector
from refcli.errors import MediaError
from refcli.executors import IndexExecutor, RayOptions
from refcli.io.discover import walk
from refcli.io.files import PathError, full_hash, read_regular
from refcli.io.image import decode_picture
from refcli.io.video import Sample, VideoReport, sample_video
from refcli.plan import Job, make_plan, pipeline_signature
from refcli.store import Store
from refcli.track import ByteTrackTracker, Rows, TrackBuilder

_COMMIT_EVERY_ROWS = 1000
COMMIT_EVERY_BYTES = 8 << 20  # keyframe JPEGs waiting to be written
_COMMIT_EVERY_SECONDS = 5.0
QUEUE_BYTES = 64 << 20
"""Decoded frames waiting for the detector: the decoder waits above this (two 4K frames, ten of
1080p). Measured on 4K and 8K clips: peak RSS 110 MB below 128 MiB's, at the same speed."""
BATCH_BYTES = 48 << 20
"""A detector batch is sent when it holds this many bytes of frames, full or not: 8 frames of
1080p still make a batch, 4K frames go three at a time instead of piling up."""


def batch_full(batch: Sequence[Sample], batch_size: int) -> bool:
    """Whether a batch of samples is due for the detector: by count, or by bytes."""
    return len(batch) >= batch_size or sum(sample.image.nbytes for sample in batch) >= BATCH_BYTES


@dataclass(frozen=True)
class IndexOptions:
    fps: float = DEFAULT_FPS
    detector: str = DEFAULT_DETECTOR
    decoder: str = "auto"
    batch_size: int = 8
    include_hidden: bool = False
    detector_threads: int | None = None
    tracking: bool = True  # off: every detection is its own one-frame track (benchmarks)
    keyframes: bool = True  # off: no keyframe JPEGs (benchmarks)
    faces: bool = False  # opt-in: face embeddings of tracks, for named people
    pose: bool = False  # opt-in: body pose of tracks (refcli[pose]), for posture and gesture cues
    settle_seconds: float = 0.0  # files modified more recently are left for the next run
    detector_model: str | None = None  # for model detectors (hf): folder or known name
    device: str = "auto"
    ray: RayOptions | None = None  # run on Ray (refcli.executors.ray_cluster); None: in this process

    @property
    def settings(self) -> IndexSettings:
        """The part of these options that decides what is stored (saved in the database)."""
        return IndexSettings(fps=self.fps, detector=self.detector, detector_model=self.detector_model,
                             faces=self.faces, pose=self.pose)

    @classmethod
    def resolved(cls, store: Store, *, fps: float | None, detector: str | None, detector_model: str | None,
                 faces: bool | None, pose: bool | None, **runtime: Any) -> IndexOptions:
        """Options for a run on ``store`` (`index`, `scan`): each setting as given (None: not given),
        else as the database saved it, else the default (refcli.config)."""
        return cls.of(resolve(store.index_settings(), fps=fps, detector=detector, detector_model=detector_model,
                              faces=faces, pose=pose), **runtime)

    @classmethod
    def of(cls, settings: IndexSettings, **runtime: Any) -> IndexOptions:
        """Options that index with ``settings``; ``runtime`` sets the rest (threads, decoder, ...)."""
        return cls(fps=settings.fps, detector=settings.detector, detector_model=settings.detector_model,
                   faces=settings.faces, pose=settings.pose, **runtime)


@dataclass
class Problem:
    path: str
    reason: str


@dataclass
class IndexSummary:
    db: str
    new: int = 0
    updated: int = 0
    linked: int = 0
    unchanged: int = 0
    failed: int = 0
    settling: int = 0  # modified too recently: left for the next run
    gone: int = 0  # no longer on disk: marked gone (purged by `refcli prune`)
    frames: int = 0
    people: int = 0  # person tracks (a photo's people are one-frame tracks)
    detections: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    failures: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    content_ids: list[str] = field(default_factory=list)  # contents indexed or linked by this run
    settings: IndexSettings | None = None  # what this run indexed with (saved in the database)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["content_ids"]
        return out


@dataclass
class _Running:
    """A file being decoded, detected and tracked."""

    job: Job
    builder: TrackBuilder | None = None
    samples: int = 0
    outstanding: int = 0
    finished: bool = False
    error: str | None = None
    path_problem: PathError | None = None
    report: VideoReport | None = None
    size: tuple[int, int] | None = None


ProgressFactory = Callable[..., Any]


def default_threads() -> int:
    """Detector threads: leave one core to the decoding thread (2-core machines get 1)."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def run_index(roots: Sequence[str], store: Store, options: IndexOptions = IndexOptions(),
              *, progress: ProgressFactory | None = None, detector: Detector | None = None) -> IndexSummary:
    """Index ``roots`` into ``store`` (which must be open for writing, inside ``store.writer()``)."""
    started = time.perf_counter()
    store.check().raise_for_damage()  # over unreadable tables every file would look unchanged
    summary = IndexSummary(db=store.path)
    detector = detector or create_detector(options.detector, threads=options.detector_threads or default_threads(),
                                           model=options.detector_model, device=options.device)
    face_encoder = None
    if options.faces:
        from refcli.features.faces import FaceEncoder

        face_encoder = FaceEncoder()
        face_encoder.faces(np.zeros((64, 64, 3), np.uint8))  # load now: a missing extra fails before any work
    pose_estimator = None
    if options.pose:
        from refcli.features.pose import PoseEstimator

        pose_estimator = PoseEstimator()
        pose_estimator.load()  # a missing extra fails before any work
    summary.settings = options.settings
    store.set_meta("index_settings", summary.settings.to_json())  # what later runs keep (refcli.config)
    signatures = {kind: pipeline_signature(kind=kind, detector_version=detector.version, fps=options.fps,
                                           faces=face_encoder.version if face_encoder else None,
                                           pose=pose_estimator.version if pose_estimator else None)
                  for kind in ("image", "video")}
    plan = make_plan(walk(roots, include_hidden=options.include_hidden), store.contents.files(), store.contents.media(),
                     signatures, roots=roots, settle_seconds=options.settle_seconds)
    summary.unchanged = plan.unchanged
    summary.settling = len(plan.settling)
    summary.gone = len(plan.gone)
    summary.content_ids = sorted({row["content_id"] for row in plan.links if row["content_id"]})
    summary.linked = len(plan.links)
    for problem in plan.problems:
        summary.failures.append(Problem(problem.path, problem.reason))
    for row in plan.failed_files:
        summary.failures.append(Problem(row["path"], row["error"]))
    summary.failed = len(summary.failures)

    pending_files = plan.failed_files + plan.links + plan.refreshed + plan.gone
    changed = bool(pending_files)
    if pending_files:
        store.contents.commit(files=pending_files)
    faults.point("after-plan")
    if plan.jobs:
        changed = True
        executor: IndexExecutor
        if options.ray is not None:
            from refcli.executors.ray_cluster import RayIndexer

            executor = RayIndexer(store, detector, options, signatures, summary, progress, face_encoder,
                                  pose_estimator)
        else:
            executor = _Indexer(store, detector, options, signatures, summary, progress, face_encoder,
                                pose_estimator)
        executor.run(plan.jobs)
    if changed and not summary.interrupted:
        store.contents.sweep()
        store.optimize()
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


class _Indexer:
    """Runs the jobs: a decoding thread feeds batches to the detector, results stream to the store."""

    def __init__(self, store: Store, detector: Detector, options: IndexOptions, signatures: dict[str, str],
                 summary: IndexSummary, progress: ProgressFactory | None, face_encoder: Any = None,
                 pose_estimator: Any = None) -> None:
        self.store, self.detector, self.options = store, detector, options
        self.face_encoder, self.pose_estimator = face_encoder, pose_estimator
        self.signatures, self.summary, self.progress = signatures, summary, progress
        self.writes = PendingWrites(store)
        self.order: list[_Running] = []
        self.batch: list[tuple[_Running, Sample]] = []
        self.detected = 0
        self.bar: Any = None

    def run(self, jobs: list[Job]) -> None:
        total = sum(j.file_rows[0]["size"] for j in jobs)
        self.bar = self.progress(total=total, unit="B", unit_scale=True, desc="indexing") if self.progress else None
        items: queue.Queue[tuple[str, Any, Any]] = queue.Queue(maxsize=max(4, 2 * self.options.batch_size))
        stop = threading.Event()
        queued = _QueuedBytes(QUEUE_BYTES)
        producer = threading.Thread(target=_produce, args=(jobs, self.options, items, stop, queued), daemon=True,
                                    name="refcli-decode")
        producer.start()
        running: dict[int, _Running] = {}
        reported: dict[int, int] = {}
        try:
            while True:
                try:
                    kind, job, payload = items.get_nowait()
                except queue.Empty:
                    self._detect_batch()  # nothing decoded yet: do not let frames wait for a full batch
                    self._finish_ready(reported)
                    kind, job, payload = items.get()
                if kind == "end":
                    break
                state = running.get(id(job))
                if state is None:
                    state = running[id(job)] = _Running(job)
                    self.order.append(state)
                if kind == "sample":
                    faults.point("after-decode")
                    sample, fraction = payload
                    queued.release(sample.image.nbytes)
                    state.outstanding += 1
                    self.batch.append((state, sample))
                    if self.bar is not None and fraction is not None:
                        done = int(job.file_rows[0]["size"] * min(1.0, fraction))
                        self.bar.update(max(0, done - reported.get(id(job), 0)))
                        reported[id(job)] = max(done, reported.get(id(job), 0))
                    if batch_full([s for _, s in self.batch], self.options.batch_size):
                        self._detect_batch()
                        self._finish_ready(reported)
                elif kind == "done":
                    state.report, state.finished = payload, True
                elif kind == "failed":
                    state.error, state.finished = str(payload), True
                    state.path_problem = payload if isinstance(payload, PathError) else None
                if state.finished and state.outstanding == 0:
                    running.pop(id(job), None)
            self._detect_batch()
            self._finish_ready(reported)
            self.writes.flush()
        except KeyboardInterrupt:
            stop.set()
            self.summary.interrupted = True
            self._finish_ready(reported)
            self.writes.flush()
            raise
        finally:
            stop.set()
            if self.bar is not None:
                self.bar.close()

    def _detect_batch(self) -> None:
        if not self.batch:
            return
        batch, self.batch = self.batch, []
        try:
            results = self.detector.detect([sample.image for _, sample in batch])
        except Exception as err:  # a detector failure costs the files in this batch, not the run
            for state, _ in batch:
                state.error = state.error or f"detector failed: {err}"
                state.outstanding -= 1
            return
        faults.point("mid-batch")
        for (state, sample), detections in zip(batch, results):
            state.outstanding -= 1
            if state.error is not None:
                continue
            if state.builder is None:
                state.builder = new_builder(state.job, self.store.new_generation(), self.options, self.face_encoder,
                                            self.pose_estimator)
                state.size = sample.displayed_size
            try:
                self.writes.rows.extend(state.builder.add(sample.index, sample.time, detections, sample.image,
                                                          sample.scale, sample.size))
            except Exception as err:  # tracking trouble costs this file, not the run
                state.error = f"tracking failed: {type(err).__name__}: {err}"
            state.samples += 1
        self.detected += len(batch)
        if self.bar is not None:
            self.bar.set_postfix(frames=self.detected, refresh=False)
        self.writes.flush_if_due()

    def _finish_ready(self, reported: dict[int, int]) -> None:
        while self.order and self.order[0].finished and self.order[0].outstanding == 0:
            state = self.order.pop(0)
            media, files = self._record(state)
            self.writes.media.extend(media)
            self.writes.files.extend(files)
            if self.bar is not None:
                self.bar.update(state.job.file_rows[0]["size"] - reported.pop(id(state.job), 0))
        # Progress is committed per file, within a second of it finishing: a restart redoes at
        # most a second of finished photos and never a finished video. (Committing after every
        # photo cost 20 ms each: 16% of indexing 300 small photos.)
        writes = self.writes
        if writes.media and (writes.media[-1]["kind"] == "video" or time.monotonic() - writes.last_commit >= 1.0):
            writes.flush()

    def _record(self, state: _Running) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        if state.error is None and state.builder is not None:
            self.writes.rows.extend(state.builder.finish())
        elif state.error is None:
            state.error = "no frame could be decoded"
        builder = state.builder
        problem = state.path_problem
        return record_file(self.summary, self.store, state.job, self.signatures[state.job.kind], FileOutcome(
            error=state.error, report=state.report, generation=builder.generation if builder else 0, size=state.size,
            samples=state.samples, people=builder.people if builder else 0,
            detections=builder.detections if builder else 0, full_hash=state.job.full_hash,
            row_counts=builder.row_counts if builder else None,
            path_problem=problem is not None, missing=problem.missing if problem else False))


class PendingWrites:
    """What the one writer has not committed yet: content rows, then media and file rows.

    Committed every 1,000 rows, 8 MB of keyframe JPEG or 5 s (``flush_if_due``), and whenever
    the executor finishes a file (``flush``). A commit that fails part-way (Ctrl-C, a full disk)
    may have written some of its rows: it is never tried again, and the files whose rows it
    carried are never switched current (their generations are ``broken``), so an interrupted
    run's last flush cannot write a row twice. Those files are indexed again by the next run.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.rows = Rows()
        self.media: list[dict[str, Any]] = []
        self.files: list[dict[str, Any]] = []
        self.broken: set[int] = set()
        self.last_commit = time.monotonic()

    def flush_if_due(self) -> None:
        if (len(self.rows) >= _COMMIT_EVERY_ROWS
                or self.rows.jpeg_bytes() >= COMMIT_EVERY_BYTES
                or time.monotonic() - self.last_commit > _COMMIT_EVERY_SECONDS):
            self.flush()

    def flush(self) -> None:
        rows, media, files = self.rows, self.media, self.files
        self.rows, self.media, self.files = Rows(), [], []  # taken before writing: never written twice
        if self.broken:
            rows = rows.without(self.broken)
            dropped = {m["content_id"] for m in media if m["generation"] in self.broken}
            media = [m for m in media if m["generation"] not in self.broken]
            files = [f for f in files if f["content_id"] not in dropped]
        if len(rows) or media or files:
            try:
                self.store.contents.commit(rows, media, files)
            except BaseException:
                self.broken |= rows.generations() | {m["generation"] for m in media}
                raise
        self.last_commit = time.monotonic()


def new_builder(job: Job, generation: int, options: IndexOptions, face_encoder: Any = None,
                pose_estimator: Any = None) -> TrackBuilder:
    """The TrackBuilder for one file, the same in local and Ray runs (so they store the same)."""
    tracker = ByteTrackTracker(options.fps) if job.kind == "video" and options.tracking else None
    return TrackBuilder(job.content_id, generation, tracker, store_keyframes=options.keyframes and job.kind == "video",
                        face_encoder=face_encoder, pose_estimator=pose_estimator)


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
    people: int = 0
    detections: int = 0
    full_hash: str | None = None
    row_counts: dict[str, int] | None = None
    path_problem: bool = False
    missing: bool = False


def record_file(summary: IndexSummary, store: Store, job: Job, signature: str,
                outcome: FileOutcome) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The file's media and files rows, counted into ``summary``.

    Ok: its generation becomes current. Failed: a fresh, empty generation, so rows written for it
    so far become unreachable and are swept. A path problem writes no media row at all: a file
    that vanished is marked gone, one that became unreadable records the error on its path, and
    its content (under whatever name it turns up) is indexed as usual.
    """
    report = outcome.report
    shown = job.file_rows[0]["path"]
    if outcome.path_problem:
        first = dict(job.file_rows[0])
        if outcome.missing:
            summary.gone += 1
            summary.warnings.append(Problem(shown, f"{outcome.error} (marked gone)"))
            first.update(gone_at=time.time())
        else:
            summary.failed += 1
            summary.failures.append(Problem(shown, outcome.error or "cannot read file"))
            first.update(content_id=None, error=outcome.error)
        return [], [first]  # other copies have no row yet: the next run finds them
    media: dict[str, Any] = {
        "content_id": job.content_id, "kind": job.kind, "signature": signature,
        "indexed_at": time.time(), "refcli_version": __version__, "warnings": [],
        "decoder": report.decoder if report else "pillow",
        "duration": report.duration if report else None, "full_hash": outcome.full_hash,
        "row_counts": [{"table": t, "rows": n} for t, n in (outcome.row_counts or {}).items()],
    }
    if outcome.error is not None:
        summary.failed += 1
        summary.failures.append(Problem(shown, outcome.error))
        media.update(status="failed", error=outcome.error, generation=store.new_generation(),
                     width=None, height=None, samples=0, people=0, row_counts=[])
        return [media], job.file_rows
    warnings = list(report.warnings) if report else []
    summary.warnings.extend(Problem(shown, w) for w in warnings)
    width, height = outcome.size or (0, 0)
    media.update(status="ok", error=None, warnings=warnings, generation=outcome.generation, width=width,
                 height=height, samples=outcome.samples, people=outcome.people)
    summary.content_ids.append(job.content_id)
    summary.new += job.reason == "new"
    summary.updated += job.reason == "updated"
    summary.linked += len(job.file_rows) - 1
    summary.frames += outcome.samples
    summary.people += outcome.people
    summary.detections += outcome.detections
    return [media], job.file_rows


class _QueuedBytes:
    """Bytes of decoded frames in the decode queue, which bounds them by count only."""

    def __init__(self, limit: int) -> None:
        self.limit, self.held = limit, 0
        self._changed = threading.Condition()

    def reserve(self, nbytes: int, stop: threading.Event) -> bool:
        """Wait until ``nbytes`` more fit (one frame always does); False when stopped meanwhile."""
        with self._changed:
            while self.held and self.held + nbytes > self.limit:
                if stop.is_set():
                    return False
                self._changed.wait(0.2)
            self.held += nbytes
            return True

    def release(self, nbytes: int) -> None:
        with self._changed:
            self.held -= nbytes
            self._changed.notify()


def _produce(jobs: list[Job], options: IndexOptions, items: queue.Queue[Any], stop: threading.Event,
             queued: _QueuedBytes) -> None:
    def put(item: tuple[str, Any, Any]) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    for job in jobs:
        if stop.is_set():
            return
        report = VideoReport() if job.kind == "video" else None
        try:
            for sample, fraction in _decode(job, options, report):
                if not queued.reserve(sample.image.nbytes, stop) or not put(("sample", job, (sample, fraction))):
                    return
            put(("done", job, report))
        except MediaError as err:
            put(("failed", job, err))
        except Exception as err:  # never let one strange file end the run
            put(("failed", job, f"unexpected {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"))
    put(("end", None, None))


def _decode(job: Job, options: IndexOptions, report: VideoReport | None) -> Iterator[tuple[Sample, float | None]]:
    """The file's samples, each with how far through the file it is; sets ``job.full_hash``."""
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


def stderr_progress(**kwargs: Any) -> Any:
    """A tqdm bar on stderr that switches itself off when stderr is not a terminal (cron)."""
    from tqdm import tqdm

    return tqdm(file=sys.stderr, disable=None, dynamic_ncols=True, **kwargs)


__all__ = ["PEOPLE_MIN_SCORE", "IndexOptions", "IndexSummary", "Problem", "default_threads", "run_index"]
