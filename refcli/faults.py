"""Test-only fault injection: kill the process at a named point, to test crash safety for real.

Set ``REFCLI_FAULT=POINT`` (or ``POINT:N`` for the N-th time the point is reached). Points:
``after-decode`` (a frame decoded, nothing detected), ``mid-batch`` (a batch detected, its rows
not built), ``between-writes`` (a file's frames written, its tracks not), ``before-switch`` (all
content rows written, the media rows not switched). Unset, it costs one dict lookup.
"""

from __future__ import annotations

import os
import signal

_hits: dict[str, int] = {}


def point(name: str) -> None:
    wanted = os.environ.get("REFCLI_FAULT")
    if not wanted:
        return
    target, _, nth = wanted.partition(":")
    if target != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
