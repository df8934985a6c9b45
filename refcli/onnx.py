"""onnxruntime, imported the one way refcli imports it: with its usage telemetry off.

Since 1.2x the PyPI builds of onnxruntime write a device id and an event cache under
``~/.cache/Microsoft/DeveloperTools`` at import, and upload usage events. refcli promises that
nothing leaves the machine; ``ORT_DISABLE_TELEMETRY=1`` set before the import is onnxruntime's
full opt-out on Linux and macOS (nothing is initialised, written or sent). A user's own setting
of the variable wins.
"""

from __future__ import annotations

import os
from typing import Any


def onnxruntime() -> Any:
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort

    return ort
