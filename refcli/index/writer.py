"""The one writer's side of indexing: rows wait here until they are committed, and each file's
end becomes its media and files rows. Every executor writes through this module."""

from __future__ import annotations

import time

from refcli import __version__
from refcli.index.file_run import FileOutcome
from refcli.index.options import IndexSummary, Problem
from refcli.index.plan import Job
from refcli.store import Store
from refcli.store.content import FileRow, MediaRow
from refcli.track import Rows

COMMIT_EVERY_ROWS = 1000
COMMIT_EVERY_BYTES = 8 << 20  # keyframe JPEGs waiting to be written
COMMIT_EVERY_SECONDS = 5.0


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
        self.media: list[MediaRow] = []
        self.files: list[FileRow] = []
        self.broken: set[int] = set()
        self.last_commit = time.monotonic()

    def flush_if_due(self) -> None:
        if (len(self.rows) >= COMMIT_EVERY_ROWS
                or self.rows.jpeg_bytes() >= COMMIT_EVERY_BYTES
                or time.monotonic() - self.last_commit > COMMIT_EVERY_SECONDS):
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


def record_file(summary: IndexSummary, store: Store, job: Job, signature: str,
                outcome: FileOutcome) -> tuple[list[MediaRow], list[FileRow]]:
    """The file's media and files rows, counted into ``summary``.

    Ok: its generation becomes current. Failed: a fresh, empty generation, so rows written for it
    so far become unreachable and are swept. A path problem writes no media row at all: a file
    that vanished is marked gone, one that became unreadable records the error on its path, and
    its content (under whatever name it turns up) is indexed as usual.
    """
    report = outcome.report
    shown = job.file_rows[0]["path"]
    if outcome.path_problem:
        first = job.file_rows[0].copy()
        if outcome.missing:
            summary.gone += 1
            summary.warnings.append(Problem(shown, f"{outcome.error} (marked gone)"))
            first["gone_at"] = time.time()
        else:
            summary.failed += 1
            summary.failures.append(Problem(shown, outcome.error or "cannot read file"))
            first["content_id"], first["error"] = None, outcome.error
        return [], [first]  # other copies have no row yet: the next run finds them
    failed = outcome.error is not None
    warnings = list(report.warnings) if report and not failed else []
    width, height = (None, None) if failed else (outcome.size or (0, 0))
    media: MediaRow = {
        "content_id": job.content_id, "kind": job.kind, "status": "failed" if failed else "ok",
        "error": outcome.error, "warnings": warnings, "signature": signature,
        "generation": store.new_generation() if failed else outcome.generation,
        "decoder": report.decoder if report else "pillow", "width": width, "height": height,
        "duration": report.duration if report else None,
        "samples": 0 if failed else outcome.samples, "people": 0 if failed else outcome.people,
        "indexed_at": time.time(), "refcli_version": __version__, "full_hash": outcome.full_hash,
        "row_counts": [] if failed else [{"table": t, "rows": n} for t, n in (outcome.row_counts or {}).items()],
        "joins": None if failed else outcome.joins,
    }
    if failed:
        summary.failed += 1
        summary.failures.append(Problem(shown, outcome.error or ""))
        return [media], job.file_rows
    summary.warnings.extend(Problem(shown, w) for w in warnings)
    summary.content_ids.append(job.content_id)
    summary.new += job.reason == "new"
    summary.updated += job.reason == "updated"
    summary.linked += len(job.file_rows) - 1
    summary.frames += outcome.samples
    summary.reused += outcome.reused
    summary.people += outcome.people
    summary.detections += outcome.detections
    return [media], job.file_rows
