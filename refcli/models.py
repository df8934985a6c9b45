"""Model weights: where they live, which are known, and the one command that downloads them.

Nothing in refcli downloads implicitly: backends load from a local folder; `refcli models pull
NAME` is the only network access, for users who have a network.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from refcli.errors import BackendError, MissingExtraError


@dataclass(frozen=True)
class KnownModel:
    name: str
    repo: str
    kind: str  # "referrer" | "detector" | "grounder" | "detector/grounder"
    note: str

    def serves(self, role: str) -> bool:
        return role in self.kind.split("/")


KNOWN = {m.name: m for m in [
    KnownModel("rex-thinker-7b", "IDEA-Research/Rex-Thinker-GRPO-7B", "referrer",
               "Qwen2.5-VL-7B fine-tuned to pick candidates (HumanRef DF1 83.5), ~16 GB"),
    KnownModel("qwen2.5-vl-3b", "Qwen/Qwen2.5-VL-3B-Instruct", "referrer", "general VLM, ~7.5 GB"),
    KnownModel("qwen2.5-vl-7b", "Qwen/Qwen2.5-VL-7B-Instruct", "referrer", "general VLM, ~16 GB"),
    KnownModel("rexseek-3b", "IDEA-Research/RexSeek-3B", "referrer",
               "RexSeek (needs its own environment, see README)"),
    KnownModel("grounding-dino-tiny", "IDEA-Research/grounding-dino-tiny", "detector/grounder",
               "open-set detector: people, or things for --grounder grounding-dino"),
    KnownModel("mm-grounding-dino-tiny", "openmmlab-community/mm_grounding_dino_tiny_o365v1_goldg_v3det",
               "detector/grounder", "MM-Grounding-DINO (--grounder grounding-dino)"),
    KnownModel("owlv2-base", "google/owlv2-base-patch16-ensemble", "detector/grounder",
               "open-vocabulary detector (--grounder owlv2)"),
    KnownModel("florence-2-base", "florence-community/Florence-2-base", "grounder",
               "phrase grounding by generation (--grounder florence-2), ~0.5 GB"),
    KnownModel("florence-2-large", "florence-community/Florence-2-large", "grounder",
               "phrase grounding by generation (--grounder florence-2), ~1.5 GB"),
    KnownModel("rt-detr-r50", "PekingU/rtdetr_r50vd", "detector", "COCO detector (class person)"),
    KnownModel("detr-resnet-50", "facebook/detr-resnet-50", "detector", "COCO detector (class person)"),
]}


def models_dir() -> str:
    """$REFCLI_MODELS, else $XDG_CACHE_HOME/refcli/models (~/.cache/refcli/models)."""
    if os.environ.get("REFCLI_MODELS"):
        return os.environ["REFCLI_MODELS"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "refcli", "models")


def installed(name: str) -> str | None:
    path = os.path.join(models_dir(), name)
    return path if os.path.isfile(os.path.join(path, "config.json")) else None


def resolve(name_or_path: str) -> str:
    """A model folder: the path itself, or where `models pull` put a known name."""
    if os.path.isdir(name_or_path):
        if not os.path.isfile(os.path.join(name_or_path, "config.json")):
            raise BackendError(f"{name_or_path} is not a model folder (no config.json)")
        return name_or_path
    path = installed(name_or_path)
    if path:
        return path
    if name_or_path in KNOWN:
        raise BackendError(f"model {name_or_path!r} is not installed: run `refcli models pull {name_or_path}` "
                           f"(downloads {KNOWN[name_or_path].repo}) or pass a local folder")
    raise BackendError(f"no model folder or known model named {name_or_path!r} (see `refcli models list`)")


class LocalModel:
    """What the backends that load a model folder share (detector, grounders, VLM): the folder,
    a digest of its config for pipeline signatures and cache keys (a different model must never
    read another's cache), and the device, resolved once."""

    model_name: str | None
    device_name: str

    @cached_property
    def path(self) -> str:
        return resolve(self.model_name or "")

    def folder_id(self, digits: int = 12, sep: str = "-") -> str:
        """The folder's name and its config's digest, e.g. ``owlv2-base-0123456789ab``."""
        with open(os.path.join(self.path, "config.json"), "rb") as f:
            digest = hashlib.sha1(f.read()).hexdigest()[:digits]
        return f"{os.path.basename(os.path.normpath(self.path))}{sep}{digest}"

    @cached_property
    def device(self) -> str:
        from refcli.devices import pick_device

        return pick_device(self.device_name)


def states() -> dict[str, dict[str, Any]]:
    """Every known model: its repository, kind, and whether (where, how big) it is installed."""
    out: dict[str, dict[str, Any]] = {}
    for name, known in KNOWN.items():
        path = installed(name)
        out[name] = {"repo": known.repo, "kind": known.kind, "installed": path is not None,
                     "path": path, "bytes": folder_size(path) if path else 0}
    return out


def pull(name: str) -> str:
    """Download a known model into the models folder (huggingface_hub, with its progress bars)."""
    if name not in KNOWN:
        raise BackendError(f"unknown model {name!r}; known: {', '.join(sorted(KNOWN))}")
    target = os.path.join(models_dir(), name)
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HfHubHTTPError
    except ImportError:  # it comes with transformers
        raise MissingExtraError("refcli models pull", "models") from None
    try:
        snapshot_download(repo_id=KNOWN[name].repo, local_dir=target)
    except (HfHubHTTPError, OSError, ValueError) as err:
        raise BackendError(f"cannot download {KNOWN[name].repo}: {str(err).splitlines()[0]} "
                           "(no network? copy the model folder here instead: " + target + ")") from None
    return target


def folder_size(path: str) -> int:
    total = 0
    for folder, _, names in os.walk(path):
        total += sum(os.path.getsize(os.path.join(folder, n)) for n in names
                     if os.path.isfile(os.path.join(folder, n)))
    return total
