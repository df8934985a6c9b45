"""The local executor: a decoding thread feeds detector batches on the main thread.

Decoding runs in one background thread with a queue bounded by frames and by bytes, overlapping
the detector on the main thread (both release the GIL in their native code); frames larger than
the working size are reduced while decoded (refcli.io.image), so what is in flight is bounded
whatever the input. A batch may hold samples of several files (many small photos make full
batches); each file's samples reach its FileRun in order. A sample where nothing moved
(decode.gate, judged on the decoding thread) skips the detector: it reaches its FileRun at once
when nothing of its file waits in the batch, else after the batch, in its place.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from refcli import faults
from refcli.index import decode
from refcli.index.file_run import FileRun
from refcli.index.options import IndexContext
from refcli.index.plan import Job
from refcli.index.writer import PendingWrites, record_file
from refcli.io.video import Sample

QUEUE_BYTES = 64 << 20
"""Decoded frames waiting for the detector: the decoder waits above this (two 4K frames, ten of
1080p). Measured on 4K and 8K clips: peak RSS 110 MB below 128 MiB's, at the same speed."""


@dataclass
class _InFlight:
    """A file whose samples are being decoded or detected."""

    run: FileRun
    outstanding: int = 0  # samples sent to the detector, not yet answered
    decoded: bool = False  # the decoder is done with it (all samples sent, or failed)


class LocalIndexer:
    """Runs the jobs in this process; results stream to the store through one PendingWrites."""

    def __init__(self, context: IndexContext) -> None:
        self.context = context
        self.options = context.options
        self.writes = PendingWrites(context.store)
        self.order: list[_InFlight] = []
        self.batch: list[tuple[_InFlight, Sample, bool]] = []  # True: the detector sees it
        self.detected = 0
        self.bar: Any = None

    def run(self, jobs: list[Job]) -> None:
        total = sum(j.file_rows[0]["size"] for j in jobs)
        progress = self.context.progress
        self.bar = progress(total=total, unit="B", unit_scale=True, desc="indexing") if progress else None
        items: queue.Queue[tuple[str, Any, Any]] = queue.Queue(maxsize=max(4, 2 * self.options.batch_size))
        stop = threading.Event()
        queued = _QueuedBytes(QUEUE_BYTES)
        producer = threading.Thread(target=_produce, args=(jobs, self.context, items, stop, queued), daemon=True,
                                    name="refcli-decode")
        producer.start()
        running: dict[int, _InFlight] = {}
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
                    run = FileRun(job, self.options, self.context.store.new_generation, self.context.features)
                    state = running[id(job)] = _InFlight(run)
                    self.order.append(state)
                if kind == "sample":
                    faults.point("after-decode")
                    sample, fraction, detect = payload
                    queued.release(sample.image.nbytes)
                    if detect or state.outstanding:
                        state.outstanding += 1
                        self.batch.append((state, sample, detect))
                    else:  # reuses boxes already found: no need to wait for the batch
                        self.writes.rows.extend(state.run.add(sample, None))
                        self.detected += 1
                    if self.bar is not None and fraction is not None:
                        done = int(job.file_rows[0]["size"] * min(1.0, fraction))
                        self.bar.update(max(0, done - reported.get(id(job), 0)))
                        reported[id(job)] = max(done, reported.get(id(job), 0))
                    if decode.batch_full([s for _, s, _ in self.batch], self.options.batch_size,
                                         sum(d for _, _, d in self.batch)):
                        self._detect_batch()
                        self._finish_ready(reported)
                elif kind == "done":
                    state.run.report, state.decoded = payload, True
                elif kind == "failed":
                    state.run.fail(payload)
                    state.decoded = True
                if state.decoded and state.outstanding == 0:
                    running.pop(id(job), None)
            self._detect_batch()
            self._finish_ready(reported)
            self.writes.flush()
        except KeyboardInterrupt:
            stop.set()
            self.context.summary.interrupted = True
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
        images = [sample.image for _, sample, detect in batch if detect]
        try:
            results = iter(self.context.detector.detect(images) if images else [])
        except Exception as err:  # a detector failure costs the files in this batch, not the run
            # (every file here has a detected sample in it before any that reuses its boxes)
            for state, _, _ in batch:
                state.run.detector_failed(err)
                state.outstanding -= 1
            return
        faults.point("mid-batch")
        for state, sample, detect in batch:  # in order: a reused sample follows the one it reuses
            state.outstanding -= 1
            self.writes.rows.extend(state.run.add(sample, next(results) if detect else None))
        self.detected += len(batch)
        if self.bar is not None:
            self.bar.set_postfix(frames=self.detected, refresh=False)
        self.writes.flush_if_due()

    def _finish_ready(self, reported: dict[int, int]) -> None:
        context, writes = self.context, self.writes
        while self.order and self.order[0].decoded and self.order[0].outstanding == 0:
            run = self.order.pop(0).run
            rows, outcome = run.finish()
            writes.rows.extend(rows)
            media, files = record_file(context.summary, context.store, run.job, context.signatures[run.job.kind],
                                       outcome)
            writes.media.extend(media)
            writes.files.extend(files)
            if self.bar is not None:
                self.bar.update(run.job.file_rows[0]["size"] - reported.pop(id(run.job), 0))
        # Progress is committed per file, within a second of it finishing: a restart redoes at
        # most a second of finished photos and never a finished video. (Committing after every
        # photo cost 20 ms each: 16% of indexing 300 small photos.)
        if writes.media and (writes.media[-1]["kind"] == "video" or time.monotonic() - writes.last_commit >= 1.0):
            writes.flush()


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


def _produce(jobs: list[Job], context: IndexContext, items: queue.Queue[Any], stop: threading.Event,
             queued: _QueuedBytes) -> None:
    """The decoding thread: ("sample", job, (sample, fraction, detect)) ... ("done", job, None)
    or ("failed", job, error) per file, then ("end", None, None). ``detect``: decode.gate's
    answer (False: the sample reuses the last detected boxes)."""
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
        report = decode.new_report(job)
        try:
            detect = decode.gate(job, context.options)
            for sample, fraction in decode.samples(job, context.options, report):
                if not queued.reserve(sample.image.nbytes, stop) \
                        or not put(("sample", job, (sample, fraction, detect(sample)))):
                    return
            put(("done", job, report))
        except Exception as err:  # never let one strange file end the run
            put(("failed", job, err))
    put(("end", None, None))
