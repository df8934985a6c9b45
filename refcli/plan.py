"""Decide, per file found on disk, what indexing must do: nothing, link, or decode.

Pure except for hashing the files whose quick check failed, so it is cheap on an unchanged
archive: one stat per file, no reads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from refcli.io.discover import FoundFile, WalkProblem, content_id, display_path
from refcli.store import FileRecord, MediaRecord

PIPELINE_REVISION = 3
"""Bump when a code change alters what indexing stores; stored signatures then differ and
files are re-indexed. (The package version is recorded per media row for provenance but does
not force re-indexing: a release that changes nothing in the pipeline must not cost a
re-index of the whole archive.)"""


def pipeline_signature(*, kind: str, detector_version: str, fps: float, faces: str | None = None) -> str:
    """Everything that changes what index stores for a file of ``kind``, as a stable string.

    The sampling rate is part of a video's signature only: changing --fps leaves photos alone.
    ``faces`` names the face model when face embeddings are computed (opt-in).
    """
    parts: dict[str, Any] = {"pipeline": PIPELINE_REVISION, "detector": detector_version}
    if faces:
        parts["faces"] = faces
    if kind == "video":
        parts["fps"] = round(float(fps), 6)
    return json.dumps(parts, sort_keys=True)


@dataclass
class Job:
    """One content to decode and detect, and every path that holds it."""

    path: str  # the path to open (may not be valid UTF-8)
    kind: str
    content_id: str
    reason: str  # "new" | "updated"
    file_rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)  # new paths of already indexed content
    refreshed: list[dict[str, Any]] = field(default_factory=list)  # touched files: new fingerprint only
    unchanged: int = 0
    failed_files: list[dict[str, Any]] = field(default_factory=list)  # file rows with an error
    problems: list[WalkProblem] = field(default_factory=list)


def file_row(found: FoundFile, cid: str | None, error: str | None = None) -> dict[str, Any]:
    fp = found.fingerprint
    return {"path": display_path(found.path), "content_id": cid, "kind": found.kind.value,
            "size": fp.size, "mtime_ns": fp.mtime_ns, "mode": fp.mode, "error": error, "seen_at": time.time()}


def make_plan(found: Iterable[FoundFile | WalkProblem], files: dict[str, FileRecord],
              media: dict[str, MediaRecord], signatures: dict[str, str]) -> Plan:
    """Sort found files into unchanged, links to known content, failures and jobs.

    ``signatures`` maps each kind ("image", "video") to its current pipeline signature.
    """
    plan = Plan()
    scheduled: dict[str, Job] = {}
    seen: set[str] = set()
    for item in found:
        if isinstance(item, WalkProblem):
            plan.problems.append(item)
            continue
        shown = display_path(item.path)
        if shown in seen:  # overlapping roots ("a" and "a/b") name a file twice
            continue
        seen.add(shown)
        signature = signatures[item.kind.value]
        known = files.get(shown)
        cid: str | None = None
        if known is not None and known.fingerprint == item.fingerprint:
            if known.error is not None:
                plan.unchanged += 1  # failed before and did not change since: do not retry
                continue
            cid = known.content_id
            record = media.get(cid) if cid else None
            if record is not None and record.signature == signature:
                plan.unchanged += 1
                continue
        if cid is None:
            try:
                cid = content_id(item.path, item.fingerprint.size)
            except OSError as err:
                reason = (err.strerror or str(err)).lower()
                plan.failed_files.append(file_row(item, None, f"cannot read file: {reason}"))
                continue
        row = file_row(item, cid)
        record = media.get(cid)
        if record is not None and record.signature == signature:
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
    return plan
