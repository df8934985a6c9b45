"""Test-only fault injection: kill the process at a named point, to test crash safety for real.

Set ``REFCLI_FAULT=POINT`` (or ``POINT:N`` for the N-th time the point is reached). Points:
``after-decode`` (a frame decoded, nothing detected), ``mid-batch`` (a batch detected, its rows
not built), ``between-writes`` (a file's frames written, its tracks not), ``before-switch`` (all
content rows written, the media rows not switched); on Ray, ``ray-file`` (a file's worker, a
sample decoded), ``ray-detector`` (a detector actor, a batch received) and ``ray-driver`` (the
driver, a file's rows received).

``before-report`` and ``after-report`` (`refcli scan`: the standing queries ran; their report
is not printed yet / printed but not yet recorded as delivered). ``after-plan`` (the plan is
made, no file decoded yet) is where a test that uses
``REFCLI_FAULT_SIGNAL=STOP`` changes the archive under a running index.

``REFCLI_FAULT_SIGNAL=INT`` sends SIGINT (a Ctrl-C) instead of SIGKILL; ``STOP`` stops the process
(SIGSTOP) until the test sends SIGCONT. ``REFCLI_FAULT_ONCE=PATH``
fires only in the first process to create PATH, so a restarted worker or actor runs on. Unset, a
point costs one dict lookup.
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
    if _hits[name] < int(nth or 1):
        return
    once = os.environ.get("REFCLI_FAULT_ONCE")
    if once:
        try:
            os.close(os.open(once, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return
    sent = {"INT": signal.SIGINT, "STOP": signal.SIGSTOP}.get(os.environ.get("REFCLI_FAULT_SIGNAL", ""),
                                                             signal.SIGKILL)
    if sent == signal.SIGINT and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # started with Ctrl-C ignored (a background job of a shell without job control, as a test
        # runner may be): the Ctrl-C this stands for reaches a foreground process, which listens
        signal.signal(signal.SIGINT, signal.default_int_handler)
    os.kill(os.getpid(), sent)
