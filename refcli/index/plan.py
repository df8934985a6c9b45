"""Decide, per file found on disk, what indexing must do: nothing, link, or decode.

Pure except for hashing the files whose quick check failed, so it is cheap on an unchanged
archive: one stat per file, no reads.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from refcli.errors import MediaError
from refcli.identity import ContentIdentity
from refcli.io.discover import FoundFile, WalkProblem, content_id
from refcli.io.files import PathError
from refcli.store import FileRecord, MediaRecord
from refcli.store.content import FileRow

PIPELINE_REVISION = 4
"""Bump when a code change alters what indexing stores; stored signatures then differ and
files are re-indexed. (The package version is recorded per media row for provenance but does
not force re-indexing: a release that changes nothing in the pipeline must not cost a
re-index of the whole archive.)"""


def pipeline_signature(*, kind: str, detector_version: str, fps: float,
                       features: Mapping[str, str] | None = None, still: str | None = None) -> str:
    """Everything that changes what index stores for a file of ``kind``, as a stable string.

    The sampling rate is part of a video's signature only: changing --fps leaves photos alone.
    ``features``: name -> version of the opt-in features measured (refcli.features.signature_parts).
    ``still``: the stillness rule's version when still samples reuse boxes (videos only; None:
    every sample detected, the signature of a refcli before the rule existed).
    """
    parts: dict[str, Any] = {"pipeline": PIPELINE_REVISION, "detector": detector_version, **(features or {})}
    if kind == "video":
        parts["fps"] = round(float(fps), 6)
        if still is not None:
            parts["still"] = still
    return json.dumps(parts, sort_keys=True)


@dataclass
class Job:
    """One content to decode and detect, and every path that holds it."""

    path: str  # the path to open (may not be valid UTF-8)
    kind: str
    content_id: str
    reason: str  # "new" | "updated"
    file_rows: list[FileRow] = field(default_factory=list)
    full_hash: str | None = None  # taken while the file is decoded


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    links: list[FileRow] = field(default_factory=list)  # new paths of already indexed content
    refreshed: list[FileRow] = field(default_factory=list)  # touched files: new fingerprint only
    unchanged: int = 0
    failed_files: list[FileRow] = field(default_factory=list)  # file rows with an error
    problems: list[WalkProblem] = field(default_factory=list)
    settling: list[str] = field(default_factory=list)  # modified too recently: left for the next run
    gone: list[FileRow] = field(default_factory=list)  # file rows to mark gone


def file_row(found: FoundFile, cid: str | None, error: str | None = None) -> FileRow:
    fp = found.fingerprint
    return {"path": found.path, "content_id": cid, "kind": found.kind.value,
            "size": fp.size, "mtime_ns": fp.mtime_ns, "mode": fp.mode, "error": error, "seen_at": time.time(),
            "gone_at": None}


def problem_row(problem: WalkProblem) -> FileRow:
    """The files row that records a problem found on disk (a broken link, an unreadable folder)."""
    fp = problem.fingerprint
    assert fp is not None
    return {"path": problem.path, "content_id": None, "kind": problem.kind or "folder", "size": fp.size,
            "mtime_ns": fp.mtime_ns, "mode": fp.mode, "error": problem.reason, "seen_at": time.time(),
            "gone_at": None}


def make_plan(found: Iterable[FoundFile | WalkProblem], files: dict[str, FileRecord],
              media: dict[str, MediaRecord], signatures: dict[str, str], *, roots: Iterable[str] = (),
              settle_seconds: float = 0.0) -> Plan:
    """Sort found files into unchanged, links to known content, failures, jobs, settling and gone.

    ``signatures`` maps each kind ("image", "video") to its current pipeline signature. Files
    modified less than ``settle_seconds`` ago are still being written (a copy, a camera upload):
    they are left for the next run. Known files under ``roots`` that are no longer on disk are
    marked gone (their content stays until `refcli prune`). Problems on disk that can be
    recognised again (a broken link) are recorded once, like unreadable files.
    """
    plan = Plan()
    recent = time.time() - settle_seconds
    scheduled: dict[str, Job] = {}
    seen: set[str] = set()
    identity = ContentIdentity(files, media)
    for item in found:
        if isinstance(item, WalkProblem):
            _problem(plan, item, files.get(item.path), seen)
            continue
        path = item.path
        if path in seen:  # overlapping roots ("a" and "a/b") name a file twice
            continue
        seen.add(path)
        if settle_seconds > 0 and item.fingerprint.mtime_ns / 1e9 > recent:
            plan.settling.append(path)
            continue
        signature = signatures[item.kind.value]
        known = files.get(path)
        if known is not None and known.fingerprint == item.fingerprint:
            back = known.gone_at is not None  # it was gone and is here again
            if known.error is not None:
                plan.unchanged += 1  # failed before and did not change since: do not retry
                if back:
                    plan.refreshed.append(known.row(gone_at=None))
                continue
            record = media.get(known.content_id) if known.content_id else None
            if record is not None and record.signature == signature:
                plan.unchanged += 1
                if back:
                    plan.refreshed.append(known.row(gone_at=None))
                continue
            cid: str | None = known.content_id  # the same bytes as before: no need to hash again
        else:
            cid = None
        reusable = True
        try:
            if cid is None:
                cid, reusable = identity.of(item, content_id(item.path, item.fingerprint.size), scheduled)
        except PathError as err:
            if not err.missing:  # vanished since the walk: the next run marks it gone
                plan.failed_files.append(file_row(item, None, str(err)))
            continue
        except MediaError as err:
            plan.failed_files.append(file_row(item, None, str(err)))
            continue
        row = file_row(item, cid)
        record = media.get(cid)
        if record is not None and record.signature == signature and reusable:
            if known is not None and known.content_id == cid:
                plan.unchanged += 1  # touched, not changed: refresh the fingerprint only
                plan.refreshed.append(row)
            else:
                plan.links.append(row)
        elif cid in scheduled:
            scheduled[cid].file_rows.append(row)  # a second copy of content indexed in this run
        else:
            reason = "updated" if known is not None or record is not None else "new"
            job = Job(path=item.path, kind=item.kind.value, content_id=cid, reason=reason, file_rows=[row])
            scheduled[cid] = job
            plan.jobs.append(job)
    plan.gone = _gone(files, seen, list(roots))
    return plan


def _problem(plan: Plan, problem: WalkProblem, known: FileRecord | None, seen: set[str]) -> None:
    """A problem found on disk: reported and recorded the first time, counted unchanged after."""
    if problem.fingerprint is None:
        plan.problems.append(problem)  # nothing to recognise it by (a file type refcli does not index)
        return
    seen.add(problem.path)
    if known is not None and known.fingerprint == problem.fingerprint and known.error == problem.reason \
            and known.gone_at is None:
        plan.unchanged += 1
        return
    plan.failed_files.append(problem_row(problem))


def _gone(files: dict[str, FileRecord], seen: set[str], roots: list[str]) -> list[FileRow]:
    """Rows marking gone the known files under ``roots`` that this walk did not find on disk, and
    the recorded problems of folders that it could read this time."""
    folders = [os.path.join(os.path.abspath(r), "") for r in roots if os.path.isdir(r)]
    singles = {os.path.abspath(r) for r in roots}
    now = time.time()
    rows = []
    for path, record in files.items():
        if record.gone_at is not None or path in seen:
            continue
        if not (path in singles or any(path.startswith(folder) for folder in folders)):
            continue  # outside what was scanned: not ours to judge
        if os.path.lexists(path) and record.kind != "folder":
            continue  # still there (a hidden file, say, skipped this time)
        rows.append(record.row(gone_at=now))  # a folder problem not seen again is over: gone too
    return rows
