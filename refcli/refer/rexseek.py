"""The `rexseek` referrer: IDEA-Research's RexSeek, run in its own Python environment.

RexSeek's code pins transformers 4.38 and needs torchvision's ``roi_align``; refcli's core runs
transformers 5 without torchvision. The two cannot share one environment, so refcli talks to a
worker process started with the RexSeek environment's Python (``REFCLI_REXSEEK_PYTHON``), which
imports RexSeek from a checkout (``REFCLI_REXSEEK_REPO``) and loads the checkpoint once. A
separate environment rather than an extra (an extra cannot pin an older transformers beside
the core's) and rather than a Ray runtime environment (that would make Ray a requirement even
on one machine; on a cluster the same worker runs inside the actor's runtime_env).

Protocol: one JSON line per request on the worker's stdin (image file, candidate boxes, the
expression), one JSON line back with RexSeek's raw answer, parsed here:
``<ground>...</ground><objects><obj1><obj3></objects>`` -> candidates 1 and 3 (0-based).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from functools import cached_property
from typing import Any, ClassVar

from refcli.errors import BackendError
from refcli.refer import ReferRequest, Referrer, ReferResult
from refcli.refer.groups import refer_in_groups

PROMPT = "Please detect {expression} in this image. Answer the question with object indexes."
MAX_CANDIDATES = 100  # RexSeek has object tokens <obj0> to <obj99>
_PAIR = re.compile(r"<ground>\s*(.*?)\s*</ground>\s*<objects>\s*(.*?)\s*</objects>", re.S)


def parse_rexseek(text: str, n: int) -> tuple[list[int], list[str]]:
    """Candidate indexes in a RexSeek answer, as its own evaluation reads them."""
    if "There is no such thing in this image" in text:
        return [], []
    pairs = _PAIR.findall(text)
    if not pairs:
        return [], [f"no <ground>/<objects> in RexSeek's answer: {text.strip()[:80]!r}"]
    chosen: list[int] = []
    notes: list[str] = []
    for tag in re.findall(r"<obj(\d+)>", pairs[0][1]):
        index = int(tag)
        if index >= n:
            notes.append(f"answered <obj{index}> but there are {n} candidates")
        elif index not in chosen:
            chosen.append(index)
    return sorted(chosen), notes


def requirements() -> list[str]:
    """What is missing for the rexseek backend (for `refcli doctor`); empty when it can start."""
    missing = []
    python = os.environ.get("REFCLI_REXSEEK_PYTHON")
    if not python:
        missing.append("REFCLI_REXSEEK_PYTHON (the Python of an environment with RexSeek's requirements)")
    elif not os.access(python, os.X_OK):
        missing.append(f"REFCLI_REXSEEK_PYTHON={python} is not an executable")
    repo = os.environ.get("REFCLI_REXSEEK_REPO")
    if not repo or not os.path.isdir(os.path.join(repo, "rexseek")):
        missing.append("REFCLI_REXSEEK_REPO (a checkout of IDEA-Research/RexSeek)")
    from refcli.models import installed

    if not installed("rexseek-3b") and not os.environ.get("REFCLI_REXSEEK_MODEL"):
        missing.append("the RexSeek-3B checkpoint (`refcli models pull rexseek-3b` or REFCLI_REXSEEK_MODEL)")
    return missing


class RexSeekReferrer(Referrer):
    """RexSeek in a worker process. Args: model (folder or name), device."""

    name: ClassVar[str] = "rexseek"
    needs_image: ClassVar[bool] = True

    def __init__(self, model: str | None = None, device: str = "auto") -> None:
        self.model_name = model or os.environ.get("REFCLI_REXSEEK_MODEL") or "rexseek-3b"
        self.device = device

    @property
    def cache_id(self) -> str:
        return f"rexseek:{os.path.basename(os.path.normpath(self.model_name))}"

    @cached_property
    def _worker(self) -> Any:
        missing = requirements()
        if missing:
            raise BackendError("the rexseek backend cannot start; missing: " + "; ".join(missing))
        from refcli.models import resolve

        script = os.path.join(os.path.dirname(__file__), "rexseek_worker.py")
        return subprocess.Popen(
            [os.environ["REFCLI_REXSEEK_PYTHON"], script, "--model", resolve(self.model_name), "--repo",
             os.environ["REFCLI_REXSEEK_REPO"], "--device", self.device],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sys.stderr, text=True, bufsize=1)

    def refer(self, requests: Sequence[ReferRequest]) -> list[ReferResult]:
        return refer_in_groups(self._refer_direct, requests, MAX_CANDIDATES)

    def _refer_direct(self, requests: Sequence[ReferRequest]) -> list[ReferResult]:
        """One answer per request, each within RexSeek's candidate limit (grouping calls this)."""
        out = []
        for request in requests:
            if not len(request.boxes):
                out.append(ReferResult())
                continue
            chosen, notes = parse_rexseek(self.ask(request), len(request.boxes))
            out.append(ReferResult(indexes=tuple(chosen), scores=tuple(float(request.scores[i]) for i in chosen),
                                   warnings=tuple(notes)))
        return out

    def ask(self, request: ReferRequest) -> str:
        from PIL import Image

        if request.image is None:
            raise BackendError("the rexseek backend needs the image of each frame")
        h, w = request.image.shape[:2]
        sx, sy = w / max(1, request.size[0]), h / max(1, request.size[1])
        boxes = [[x0 * sx, y0 * sy, x1 * sx, y1 * sy] for x0, y0, x1, y1 in request.boxes.tolist()]
        with tempfile.NamedTemporaryFile(suffix=".png") as image:
            Image.fromarray(request.image).save(image.name)
            worker = self._worker
            worker.stdin.write(json.dumps({"image": image.name, "boxes": boxes,
                                           "question": PROMPT.format(expression=request.expression)}) + "\n")
            line = worker.stdout.readline()
        if not line:
            raise BackendError("the rexseek worker stopped (see its messages above)")
        reply = json.loads(line)
        if "error" in reply:
            raise BackendError(f"rexseek worker: {reply['error']}")
        return str(reply["text"])
