"""`refcli index --ray`: the local pipeline's stages spread over a Ray cluster, one writer.

Each file is one Ray task (a streaming generator, 1 CPU) that decodes it where it runs, sends
its frames in batches to a pool of detector actors (each loads its model once; fractional GPUs),
tracks the answers in frame order with the same TrackBuilder as a local run, and yields compact
rows (frames, tracks, keyframe JPEGs, faces, poses) back to the driver as they become final. The
driver is the only writer: it commits them under the generation it gave that attempt, exactly as
the local indexer does, and switches the file's media row when the file is whole. Raw frames
cross the object store once (task -> actor); only boxes come back.

Why tasks per file and an actor pool, not Ray Data: tracking needs one file's frames in order
in one place, so a file is the natural unit of work; the writer needs to know when a file is
whole; and a retried piece of work must write under a new generation. Ray Data re-runs failed
blocks on its own and mixes files in blocks, which would hide both. Here a worker that dies
mid-file raises on the driver, which tries the file again (on any node) under a fresh
generation; the rows of the lost attempt are never made current and the end-of-run sweep
deletes them, so nothing is duplicated or lost.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import ray
import ray.exceptions

from refcli import faults
from refcli.errors import BackendError
from refcli.executors import RayOptions
from refcli.features import Feature, enabled
from refcli.index import decode
from refcli.index.file_run import FileOutcome, FileRun
from refcli.index.options import IndexContext, IndexOptions
from refcli.index.plan import Job
from refcli.index.writer import COMMIT_EVERY_BYTES, PendingWrites, record_file
from refcli.refer import ReferRequest, Referrer, ReferResult, TrackTerms
from refcli.track import Rows

if TYPE_CHECKING:
    from refcli.query.backends import ReferrerSettings

_YIELD_EVERY_ROWS = 500
"""A file task hands rows back at least this often (and at 8 MB of keyframe JPEG)."""


def connect(options: RayOptions) -> bool:
    """Join the cluster at ``options.address`` or start a local instance; True if this call
    connected (then the caller disconnects, which also stops a local instance).

    REFCLI_* settings go to the workers through the job's runtime environment.
    """
    if ray.is_initialized():
        return False
    env = {k: v for k, v in os.environ.items() if k.startswith("REFCLI_")}
    env.setdefault("RAY_AUTH_MODE", os.environ.get("RAY_AUTH_MODE", "disabled"))
    try:
        with warnings.catch_warnings():
            # Ray starts its processes with fork+exec; LanceDB's at-fork hook warns about forks that
            # keep running Python, which these do not.
            warnings.filterwarnings("ignore", message="lancedb fork support", category=RuntimeWarning)
            ray.init(address=options.address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False, runtime_env={"env_vars": env} if env else None)
    except (ConnectionError, ValueError, RuntimeError) as err:
        where = options.address or "a local instance"
        raise BackendError(f"cannot start Ray ({where}): {str(err).splitlines()[0]}") from None
    if options.gpus_per_actor > 0 and not ray.cluster_resources().get("GPU"):
        ray.shutdown()
        raise BackendError(f"--gpus-per-actor {options.gpus_per_actor:g}: the Ray cluster has no GPU "
                           "(actors would wait for one forever); use --gpus-per-actor 0")
    return True


class _DetectorActor:
    """Loads the detector once; detects batches of frames sent by file tasks."""

    def __init__(self, name: str, kwargs: dict[str, Any], version: str) -> None:
        from refcli.detect import create_detector

        self.detector = create_detector(name, **kwargs)
        if self.detector.version != version:
            raise BackendError(f"detector on {os.uname().nodename} is {self.detector.version}, the driver's is "
                               f"{version}: install the same refcli on every node")

    def ready(self) -> int:
        return os.getpid()

    def detect(self, images: list[Any]) -> list[Any]:
        faults.point("ray-detector")
        return self.detector.detect(images)


_measured: dict[tuple[tuple[str, bool], ...], list[Feature]] = {}
"""Per worker process: the features' models load once, not per file."""


def _features(options: IndexOptions) -> list[Feature]:
    key = tuple(sorted(options.settings.features.items()))
    if key not in _measured:
        _measured[key] = enabled(options.settings.features)
    return _measured[key]


def _index_file(job: Job, options: IndexOptions, generation: int, detectors: list[Any]) -> Iterator[tuple[str, Any]]:
    """Decode, detect (on the actors), track one file; yields ("rows", Rows) ... then ("done",
    FileOutcome). A dead actor or worker is raised, for the driver to retry."""
    run = FileRun(job, options, lambda: generation, _features(options))
    rows = Rows()
    start = int(job.content_id[:8], 16)
    pending: tuple[list[tuple[Any, bool]], Any] | None = None  # a batch on its way to an actor
    sent = 0

    def send(batch: list[tuple[Any, bool]]) -> Any:
        """The actor's answer for the batch's samples that need the detector (None: none do)."""
        nonlocal sent
        images = [sample.image for sample, detect in batch if detect]
        if not images:
            return None
        actor = detectors[(start + sent) % len(detectors)]
        sent += 1
        return actor.detect.remote(images)

    def take(batch: list[tuple[Any, bool]], ref: Any) -> None:
        results = iter(ray.get(ref) if ref is not None else [])
        for sample, detect in batch:  # in order: a reused sample follows the one it reuses
            rows.extend(run.add(sample, next(results) if detect else None))

    try:
        report = decode.new_report(job)
        detect = decode.gate(job, options)
        batch: list[tuple[Any, bool]] = []  # (sample, whether the detector sees it)
        for sample, _ in decode.samples(job, options, report):
            faults.point("ray-file")
            batch.append((sample, detect(sample)))
            if pending is None and len(batch) == 1 and not batch[0][1]:  # reuses boxes already found
                take(batch, None)
                batch = []
                continue
            if decode.batch_full([s for s, _ in batch], options.batch_size, sum(d for _, d in batch)):
                ref = send(batch)
                if pending is not None:  # decode the next batch while this one is detected
                    take(*pending)
                pending, batch = (batch, ref), []
                if len(rows) >= _YIELD_EVERY_ROWS or rows.jpeg_bytes() >= COMMIT_EVERY_BYTES:
                    yield "rows", rows
                    rows = Rows()
        if pending is not None:
            take(*pending)
        if batch:
            take(batch, send(batch))
        run.report = report
    except ray.exceptions.RayTaskError as err:  # the detector raised (a dead actor is a RayActorError)
        run.detector_failed(err.cause)
    except ray.exceptions.RayError:
        raise
    except Exception as err:  # never let one strange file end the run
        run.fail(err)
    last, outcome = run.finish()
    if outcome.error is None:  # a failed file's rows would only be swept
        rows.extend(last)
        yield "rows", rows
    yield "done", outcome


def _next_event(stream: Any) -> tuple[str, Any]:
    """The next (kind, payload) a file's task yielded; a task that died is "lost"."""
    try:
        kind, payload = ray.get(next(stream))
    except StopIteration:  # ended without its "done": the task was cut short
        return "lost", "the task ended early"
    except ray.exceptions.RayError as err:
        return "lost", f"{type(err).__name__}: {str(err).splitlines()[0]}"
    except Exception as err:  # the driver loop must hear of every file
        return "lost", f"{type(err).__name__}: {err}"
    return kind, payload


class _DetectorPool:
    """Detector actors: ``min_actors`` at start, one more while files wait and the cluster has room."""

    def __init__(self, options: IndexOptions, version: str) -> None:
        self.options, self.version = options, version
        self.ray_options: RayOptions = options.ray  # type: ignore[assignment]
        self.actors: list[Any] = []
        self._cls = ray.remote(_DetectorActor)
        for _ in range(self.ray_options.min_actors):
            self._add()
        ray.get([actor.ready.remote() for actor in self.actors])  # a model that cannot load fails here, once

    def _add(self) -> None:
        gpus = self.ray_options.gpus_per_actor
        device = "cuda" if gpus > 0 else self.options.device
        kwargs = {"threads": self.options.detector_threads or 1, "model": self.options.detector_model,
                  "device": device}
        self.actors.append(self._cls.options(num_cpus=self.ray_options.cpus_per_actor, num_gpus=gpus,
                                             max_restarts=-1, max_task_retries=0)
                           .remote(self.options.detector, kwargs, self.version))

    def grow(self, waiting: int) -> None:
        if len(self.actors) >= self.ray_options.max_actors or waiting <= len(self.actors):
            return
        free = ray.available_resources()
        if (free.get("CPU", 0) >= self.ray_options.cpus_per_actor + 1
                and free.get("GPU", 0) >= self.ray_options.gpus_per_actor):
            self._add()

    def close(self) -> None:
        for actor in self.actors:
            ray.kill(actor)
        self.actors = []


class RayIndexer:
    """The driver: plans nothing (run_index did), fans files out, writes everything itself."""

    def __init__(self, context: IndexContext) -> None:
        self.store, self.options, self.signatures = context.store, context.options, context.signatures
        self.summary = context.summary
        self.version = context.detector.version
        self.progress = context.progress
        self.ray_options: RayOptions = self.options.ray or RayOptions()
        self.writes = PendingWrites(self.store)

    def run(self, jobs: list[Job]) -> None:
        # Ray's driver prints cluster events ("a worker died...") on stdout; stdout is for results
        # (--json), so they go to stderr while Ray is connected.
        with contextlib.redirect_stdout(sys.stderr):
            self._run(jobs)

    def _run(self, jobs: list[Job]) -> None:
        started = connect(self.ray_options)
        pool = None
        running: dict[int, tuple[Job, int, int, Any]] = {}  # id(job) -> job, generation, attempt, generator
        bar = self.progress(total=sum(j.file_rows[0]["size"] for j in jobs), unit="B", unit_scale=True,
                            desc="indexing on ray") if self.progress else None
        try:
            pool = _DetectorPool(self.options, self.version)
            task = ray.remote(_index_file).options(num_cpus=1, max_retries=0, num_returns="streaming")
            cpus = int(ray.cluster_resources().get("CPU", 1))
            waiting = collections.deque((job, 1) for job in jobs)

            while waiting or running:
                pool.grow(len(waiting) + len(running))
                slots = max(1, cpus - int(len(pool.actors) * self.ray_options.cpus_per_actor))
                while waiting and len(running) < slots:
                    job, attempt = waiting.popleft()
                    generation = self.store.new_generation()
                    stream = task.remote(job, self.options, generation, list(pool.actors))
                    running[id(job)] = (job, generation, attempt, stream)
                # The streams are polled here, on the driver's own thread: a thread blocked in a
                # stream when Ctrl-C shuts Ray down makes Ray end the whole process (exit 1).
                ready, _ = ray.wait([entry[3] for entry in running.values()], num_returns=1, timeout=0.5)
                if not ready:
                    self.writes.flush_if_due()
                    continue
                job, _, attempt, stream = next(entry for entry in running.values() if entry[3] == ready[0])
                kind, payload = _next_event(stream)
                if kind == "rows":
                    faults.point("ray-driver")
                    self.writes.rows.extend(payload)
                    self.writes.flush_if_due()
                    continue
                del running[id(job)]
                if kind == "lost" and attempt < self.ray_options.max_attempts:
                    waiting.append((job, attempt + 1))  # its rows so far stay unreachable: swept at the end
                    continue
                if kind == "lost":
                    payload = FileOutcome(f"worker lost {attempt} times ({payload})")
                media, files = record_file(self.summary, self.store, job, self.signatures[job.kind], payload)
                self.writes.media.extend(media)
                self.writes.files.extend(files)
                if bar is not None:
                    bar.update(job.file_rows[0]["size"])
                self.writes.flush()  # a finished file is committed at once, as locally
        except KeyboardInterrupt:
            self.summary.interrupted = True
            for _, _, _, stream in running.values():
                ray.cancel(stream, force=True)
            self.writes.flush()
            raise
        finally:
            if bar is not None:
                bar.close()
            if pool is not None:
                pool.close()
            if started:
                ray.shutdown()


class _ReferrerActor:
    """Holds one referrer (a model loads once per actor) and answers batches of requests."""

    def __init__(self, settings: ReferrerSettings) -> None:
        from refcli.query.backends import build_referrer

        self.referrer = build_referrer(settings)

    def ready(self) -> int:
        return os.getpid()

    def refer(self, requests: list[Any]) -> list[Any]:
        faults.point("ray-referrer")
        return self.referrer.refer(requests)


class RayReferrer(Referrer):
    """A referrer whose batches run on Ray actors; parsing and caching stay on the driver.

    Ray starts (and the actors load their model) only when there is something to judge. Use it
    as a context manager: leaving stops the actors and disconnects.
    """

    def __init__(self, settings: ReferrerSettings, options: RayOptions) -> None:
        from refcli.query.backends import build_referrer

        self.local = build_referrer(settings)  # no model loads until it refers
        self.name = self.local.name  # type: ignore[misc]
        self.needs_image = self.local.needs_image  # type: ignore[misc]
        self.options = options
        self.settings = dataclasses.replace(settings, device="cuda") if options.gpus_per_actor > 0 else settings
        self._actors: list[Any] = []
        self._connected = False
        self._stack = contextlib.ExitStack()

    @property
    def cache_id(self) -> str | None:
        return self.local.cache_id

    def unsupported(self, expression: str) -> tuple[str, ...]:
        return self.local.unsupported(expression)

    def ignored(self, expression: str) -> tuple[str, ...]:
        return self.local.ignored(expression)

    def wants(self, expression: str) -> frozenset[str]:
        return self.local.wants(expression)

    def object_phrases(self, expression: str) -> tuple[str, ...]:
        return self.local.object_phrases(expression)

    def narrows(self, expression: str) -> bool:
        return self.local.narrows(expression)

    def per_track(self, expression: str) -> TrackTerms | None:
        """The local referrer's: the tracks table is read and narrowed on the driver, and only
        what is left to judge goes to the actors."""
        return self.local.per_track(expression)

    def __enter__(self) -> RayReferrer:
        self._stack.enter_context(contextlib.redirect_stdout(sys.stderr))  # Ray's notices are not results
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            for actor in self._actors:
                ray.kill(actor)
            if self._connected:
                ray.shutdown()
        finally:
            self._stack.close()

    def _start(self) -> None:
        if self._actors:
            return
        self._connected = connect(self.options)
        cls = ray.remote(_ReferrerActor).options(num_cpus=self.options.cpus_per_actor,
                                                 num_gpus=self.options.gpus_per_actor, max_restarts=-1,
                                                 max_task_retries=0)
        self._actors = [cls.remote(self.settings) for _ in range(self.options.max_actors)]
        ray.get([actor.ready.remote() for actor in self._actors])

    def refer(self, requests: Sequence[ReferRequest]) -> list[ReferResult]:
        if not requests:
            return []
        self._start()
        size = -(-len(requests) // len(self._actors))
        chunks = [list(requests[i:i + size]) for i in range(0, len(requests), size)]
        for attempt in range(1, self.options.max_attempts + 1):
            try:
                answers = ray.get([actor.refer.remote(chunk) for actor, chunk in zip(self._actors, chunks)])
                return [result for answer in answers for result in answer]
            except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError) as err:
                if attempt == self.options.max_attempts:
                    raise BackendError(f"referrer actors lost {attempt} times: {str(err).splitlines()[0]}") from None
                time.sleep(1.0)  # the actor restarts (max_restarts=-1); the same batch is asked again
            except ray.exceptions.RayTaskError as err:
                raise BackendError(f"referrer failed on Ray: {err.cause}") from None
        raise AssertionError("unreachable")
