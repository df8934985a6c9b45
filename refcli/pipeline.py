"""`refcli index`: discover -> plan -> decode (thread) -> detect (batches) -> store.

Decoding runs in one background thread with a bounded queue, overlapping the detector on the
main thread (both release the GIL in their native code). Results are committed in batches of
files, each batch generation-switched, so an interrupted run keeps what it finished.
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

from refcli import __version__
from refcli.defaults import DEFAULT_FPS, PEOPLE_MIN_SCORE
from refcli.detect import DEFAULT_DETECTOR, Detector, create_detector
from refcli.detections import Detections
from refcli.errors import MediaError
from refcli.io.discover import walk
from refcli.io.image import load_image
from refcli.io.video import Sample, VideoReport, sample_video
from refcli.plan import Job, make_plan, pipeline_signature
from refcli.store import Store
from refcli.store.store import ContentRows

_COMMIT_EVERY_FILES = 64
_COMMIT_EVERY_SECONDS = 5.0


@dataclass(frozen=True)
class IndexOptions:
    fps: float = DEFAULT_FPS
    detector: str = DEFAULT_DETECTOR
    decoder: str = "auto"
    batch_size: int = 8
    include_hidden: bool = False
    detector_threads: int | None = None


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
    frames: int = 0
    people: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    failures: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Running:
    """A job being decoded/detected: accumulates per-sample detections in order."""

    job: Job
    samples: list[tuple[Sample, Detections]] = field(default_factory=list)
    outstanding: int = 0
    finished: bool = False
    error: str | None = None
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
    summary = IndexSummary(db=store.path)
    detector = detector or create_detector(options.detector, threads=options.detector_threads or default_threads())
    signatures = {kind: pipeline_signature(kind=kind, detector_version=detector.version, fps=options.fps)
                  for kind in ("image", "video")}
    plan = make_plan(walk(roots, include_hidden=options.include_hidden), store.files(), store.media(), signatures)
    summary.unchanged = plan.unchanged
    summary.linked = len(plan.links)
    for problem in plan.problems:
        summary.failures.append(Problem(problem.path, problem.reason))
    for row in plan.failed_files:
        summary.failures.append(Problem(row["path"], row["error"]))
    summary.failed = len(summary.failures)

    pending_files = plan.failed_files + plan.links + plan.refreshed
    changed = bool(pending_files)
    if pending_files:
        store.commit([], pending_files)

    if plan.jobs:
        changed = True
        _run_jobs(plan.jobs, store, detector, options, signatures, summary, progress)
    if changed and not summary.interrupted:
        store.sweep()
        store.optimize()
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _run_jobs(jobs: list[Job], store: Store, detector: Detector, options: IndexOptions,
              signatures: dict[str, str], summary: IndexSummary, progress: ProgressFactory | None) -> None:
    total_bytes = sum(j.file_rows[0]["size"] for j in jobs)
    bar = progress(total=total_bytes, unit="B", unit_scale=True, desc="indexing") if progress else None
    items: queue.Queue[tuple[str, Any, Any]] = queue.Queue(maxsize=max(4, 2 * options.batch_size))
    stop = threading.Event()
    producer = threading.Thread(target=_produce, args=(jobs, options, items, stop), daemon=True, name="refcli-decode")
    producer.start()
    running: dict[int, _Running] = {}
    order: list[_Running] = []
    batch: list[tuple[_Running, Sample]] = []
    to_commit: list[ContentRows] = []
    file_rows: list[dict[str, Any]] = []
    last_commit = time.monotonic()
    reported: dict[int, float] = {}
    detected = 0

    def detect_batch() -> None:
        if not batch:
            return
        try:
            results = detector.detect([s.image for _, s in batch])
        except Exception as err:  # a detector failure costs the files in this batch, not the run
            for state, _ in batch:
                state.error = state.error or f"detector failed: {err}"
                state.outstanding -= 1
        else:
            for (state, sample), dets in zip(batch, results):
                state.samples.append((_strip(sample), dets))
                state.outstanding -= 1
        nonlocal detected
        detected += len(batch)
        if bar is not None:
            bar.set_postfix(frames=detected, refresh=False)
        batch.clear()

    def finish_ready() -> None:
        nonlocal last_commit
        while order and order[0].finished and order[0].outstanding == 0:
            state = order.pop(0)
            running.pop(id(state.job), None)
            rows = _content_rows(state, store, signatures[state.job.kind], summary)
            to_commit.append(rows)
            file_rows.extend(state.job.file_rows)
            if bar is not None:
                size = state.job.file_rows[0]["size"]
                bar.update(size - reported.pop(id(state.job), 0))
        if to_commit and (len(to_commit) >= _COMMIT_EVERY_FILES
                          or time.monotonic() - last_commit > _COMMIT_EVERY_SECONDS):
            flush()

    def flush() -> None:
        nonlocal last_commit
        if to_commit or file_rows:
            store.commit(to_commit, file_rows)
            to_commit.clear()
            file_rows.clear()
        last_commit = time.monotonic()

    try:
        while True:
            try:
                kind, job, payload = items.get_nowait()
            except queue.Empty:
                detect_batch()  # nothing decoded yet: do not let frames wait for a full batch
                finish_ready()
                kind, job, payload = items.get()
            if kind == "end":
                break
            state = running.get(id(job))
            if state is None:
                state = running[id(job)] = _Running(job)
                order.append(state)
            if kind == "sample":
                sample, fraction = payload
                state.size = state.size or (sample.image.shape[1], sample.image.shape[0])
                state.outstanding += 1
                batch.append((state, sample))
                if bar is not None and fraction is not None:
                    done = int(job.file_rows[0]["size"] * min(1.0, fraction))
                    bar.update(max(0, done - reported.get(id(job), 0)))
                    reported[id(job)] = max(done, reported.get(id(job), 0))
                if len(batch) >= options.batch_size:
                    detect_batch()
                    finish_ready()
            elif kind == "done":
                state.report = payload
                state.finished = True
            elif kind == "failed":
                state.error = payload
                state.finished = True
        detect_batch()
        finish_ready()
        flush()
    except KeyboardInterrupt:
        stop.set()
        summary.interrupted = True
        finish_ready()
        flush()
        raise
    finally:
        stop.set()
        if bar is not None:
            bar.close()


def _strip(sample: Sample) -> Sample:
    """Drop the pixels once detection has run: only boxes are stored (keyframes come later)."""
    return Sample(sample.index, sample.time, np.empty((0, 0, 3), np.uint8))


def _produce(jobs: list[Job], options: IndexOptions, items: queue.Queue[Any], stop: threading.Event) -> None:
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
                if not put(("sample", job, (sample, fraction))):
                    return
            put(("done", job, report))
        except MediaError as err:
            put(("failed", job, str(err)))
        except Exception as err:  # never let one strange file end the run
            put(("failed", job, f"unexpected {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"))
    put(("end", None, None))


def _decode(job: Job, options: IndexOptions, report: VideoReport | None) -> Iterator[tuple[Sample, float | None]]:
    if job.file_rows[0]["size"] == 0:
        raise MediaError("empty file (0 bytes)")
    if report is None:
        yield Sample(0, None, load_image(job.path)), 1.0
        return
    for sample in sample_video(job.path, options.fps, decoder=options.decoder, report=report):
        fraction = sample.time / report.duration if report.duration and sample.time is not None else None
        yield sample, fraction


def _content_rows(state: _Running, store: Store, signature: str, summary: IndexSummary) -> ContentRows:
    job = state.job
    generation = store.new_generation()
    report = state.report
    media: dict[str, Any] = {
        "content_id": job.content_id, "kind": job.kind, "signature": signature, "generation": generation,
        "indexed_at": time.time(), "refcli_version": __version__, "warnings": [],
        "decoder": (report.decoder if report else "pillow") if job.kind == "video" else "pillow",
        "duration": report.duration if report else None,
    }
    shown = job.file_rows[0]["path"]
    if state.error is not None:
        summary.failed += 1
        summary.failures.append(Problem(shown, state.error))
        media.update(status="failed", error=state.error, width=None, height=None, samples=0, people=0)
        return ContentRows(media=media, frames=[], tracks=[])
    frames: list[dict[str, Any]] = []
    tracks: list[dict[str, Any]] = []
    people = 0
    width, height = state.size or (0, 0)
    for sample, dets in sorted(state.samples, key=lambda item: item[0].index):
        if not len(dets):
            continue
        candidates = []
        for box, score in zip(dets.xyxy.tolist(), dets.confidence.tolist()):
            track = len(tracks)  # until tracking lands, every detection is its own one-frame track
            candidates.append({"box": box, "score": score, "track": track})
            tracks.append({"content_id": job.content_id, "generation": generation, "track": track,
                           "start": sample.time, "end": sample.time, "time": sample.time, "box": box,
                           "score": score, "samples": 1})
            people += score >= PEOPLE_MIN_SCORE
        frames.append({"content_id": job.content_id, "generation": generation, "sample": sample.index,
                       "time": sample.time, "width": width, "height": height, "candidates": candidates})
    warnings = list(report.warnings) if report else []
    for warning in warnings:
        summary.warnings.append(Problem(shown, warning))
    media.update(status="ok", error=None, warnings=warnings, width=width, height=height,
                 samples=len(state.samples), people=people)
    summary.new += job.reason == "new"
    summary.updated += job.reason == "updated"
    summary.linked += len(job.file_rows) - 1
    summary.frames += len(state.samples)
    summary.people += people
    return ContentRows(media=media, frames=frames, tracks=tracks)


def stderr_progress(**kwargs: Any) -> Any:
    """A tqdm bar on stderr that switches itself off when stderr is not a terminal (cron)."""
    from tqdm import tqdm

    return tqdm(file=sys.stderr, disable=None, dynamic_ncols=True, **kwargs)
