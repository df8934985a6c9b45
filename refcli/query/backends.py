"""The one factory of the backends that answer a query: a referrer and its object grounder,
built from typed settings (find, export, scan, watch, eval and the Ray actors alike)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from refcli.errors import MissingExtraError, UsageError
from refcli.ground import DEFAULT_GROUNDER, Grounder, grounders
from refcli.refer import DEFAULT_REFERRER, Referrer, referrers

Gallery = Mapping[str, Sequence[Sequence[float]]]
"""Name -> face embeddings (128 floats each), as `Store.gallery` gives them."""

NO_GROUNDER = "none"
"""``--grounder none``: no object grounder at all (things stay unsupported; nothing is detected)."""

FLAGS = {"model": "--model", "prompt": "--vlm-prompt", "ignore_unsupported": "--ignore-unsupported",
         "device": "--device", "grounder": "--grounder", "grounder_model": "--grounder-model"}
"""The command-line option of each setting, for the messages."""


@dataclass(frozen=True)
class ReferrerSettings:
    """Which referrer (and object grounder) answers a query, and the options given for them.

    A setting left None (or False) is not given: the backend's own default applies. A given
    setting that the backend does not take is a UsageError naming both, except the settings named
    in ``implicit`` (set by an environment variable or a default, not asked for on the command
    line), which go only to the backends that take them. ``device`` (where models run) and
    ``gallery`` (the database's named faces) are never an error: they go to the referrer and
    grounder that take them.
    """

    backend: str = DEFAULT_REFERRER
    model: str | None = None  # model folder or name, for model referrers (vlm, rexseek)
    prompt: str | None = None  # how the vlm backend is shown the candidates
    ignore_unsupported: bool = False  # answer with the parts of the query the backend understood
    device: str | None = None  # auto, cpu, cuda, cuda:N, mps
    grounder: str | None = None  # object grounder for queries about things (refcli.ground)
    grounder_model: str | None = None
    gallery: Gallery = field(default_factory=dict, repr=False, compare=False)
    implicit: frozenset[str] = frozenset()


def build_referrer(settings: ReferrerSettings) -> Referrer:
    """The referrer of ``settings.backend`` with the options given for it (see ReferrerSettings)."""
    backend = settings.backend
    referrers.load(backend)  # an unknown backend is named before its options
    options: dict[str, Any] = {}
    given = {"model": settings.model, "prompt": settings.prompt,
             "ignore_unsupported": True if settings.ignore_unsupported else None}
    for name, value in given.items():
        if value is None:
            continue
        if referrers.takes(backend, name):
            options[name] = value
        elif name not in settings.implicit:
            takers = referrers.taking(name)
            raise UsageError(f"the {backend} backend does not take {FLAGS[name]}"
                             + (f" (it is for {_listed(takers)})" if takers else ""))
    if settings.device is not None and referrers.takes(backend, "device"):
        options["device"] = settings.device
    if referrers.takes(backend, "gallery"):
        options["gallery"] = settings.gallery
    return referrers.create(backend, **options)


def build_grounder(settings: ReferrerSettings) -> Grounder | None:
    """The object grounder of ``settings.grounder``, with its model and device; without one, the
    embedded COCO detector for the backends that use a grounder (None for the others)."""
    if settings.grounder == NO_GROUNDER:
        return None
    if settings.grounder is None:
        if settings.grounder_model is not None and "grounder_model" not in settings.implicit:
            raise UsageError("--grounder-model is the model of an object grounder: give --grounder too "
                             f"({', '.join(grounders.names())})")
        if not _uses_grounder(settings.backend):
            return None
        return grounders.create(DEFAULT_GROUNDER)  # the COCO detector inside refcli
    if not referrers.load(settings.backend).uses_grounder:
        if "grounder" in settings.implicit:
            return None  # set in the environment for the backends that use one
        users = [n for n in referrers.names() if _uses_grounder(n)]
        raise UsageError(f"the {settings.backend} backend does not use an object grounder: --grounder is "
                         f"for {_listed(users)}")
    grounders.load(settings.grounder)
    options: dict[str, Any] = {}
    if settings.grounder_model is not None:
        if grounders.takes(settings.grounder, "model"):
            options["model"] = settings.grounder_model
        elif "grounder_model" not in settings.implicit:
            raise UsageError(f"the {settings.grounder} object grounder does not take --grounder-model")
    if settings.device is not None and grounders.takes(settings.grounder, "device"):
        options["device"] = settings.device
    return grounders.create(settings.grounder, **options)


def _uses_grounder(name: str) -> bool:
    try:
        return referrers.load(name).uses_grounder
    except (ImportError, UsageError, MissingExtraError):
        return False


def _listed(names: list[str]) -> str:
    words = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
    return f"the {words} backend{'s' * (len(names) > 1)}"
