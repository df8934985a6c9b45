"""`refcli index`: discover -> plan -> an executor decodes, detects, tracks -> one writer stores.

Each file streams through a FileRun into rows that are written as they become final, under a
generation that becomes current only when the file's media row is switched, so an interrupted
run keeps every finished file and memory does not grow with video length.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from refcli import faults
from refcli.detect import Detector, create_detector, detectors
from refcli.errors import UsageError
from refcli.executors import index_executors
from refcli.features import enabled, signature_parts
from refcli.index.options import IndexContext, IndexOptions, IndexSummary, Problem, ProgressFactory, default_threads
from refcli.index.plan import make_plan, pipeline_signature
from refcli.index.stillness import STILLNESS
from refcli.io.discover import walk
from refcli.store import Store


def run_index(roots: Sequence[str], store: Store, options: IndexOptions | None = None,
              *, progress: ProgressFactory | None = None, detector: Detector | None = None) -> IndexSummary:
    """Index ``roots`` into ``store`` (which must be open for writing, inside ``store.writer()``)."""
    options = options or IndexOptions()
    started = time.perf_counter()
    store.check().raise_for_damage()  # over unreadable tables every file would look unchanged
    summary = IndexSummary(db=store.path)
    if detector is None:
        if options.detector_model is not None and not detectors.takes(options.detector, "model"):
            raise UsageError(f"the {options.detector} detector takes no model: --detector-model is for "
                             f"{', '.join(detectors.taking('model'))} (refcli models list)")
        detector = create_detector(options.detector, threads=options.detector_threads or default_threads(),
                                   model=options.detector_model, device=options.device)
    measured = enabled(options.settings.features)
    for feature in measured:
        feature.load()  # a missing extra fails before any work
    summary.settings = options.settings
    store.set_meta("index_settings", summary.settings.to_json())  # what later runs keep (refcli.config)
    still = STILLNESS.version if options.reuse_still else None
    signatures = {kind: pipeline_signature(kind=kind, detector_version=detector.version, fps=options.fps,
                                           features=signature_parts(measured), still=still)
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
        summary.failures.append(Problem(row["path"], row["error"] or "cannot read file"))
    summary.failed = len(summary.failures)

    pending_files = plan.failed_files + plan.links + plan.refreshed + plan.gone
    changed = bool(pending_files)
    if pending_files:
        store.contents.commit(files=pending_files)
    faults.point("after-plan")
    if plan.jobs:
        changed = True
        context = IndexContext(store, detector, options, signatures, summary, progress, measured)
        executor = index_executors.load("ray" if options.ray is not None else "local")(context)
        executor.run(plan.jobs)
    if changed and not summary.interrupted:
        store.contents.sweep()
        store.optimize()
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary
