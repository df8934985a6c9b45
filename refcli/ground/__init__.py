"""Object grounders: find the boxes of a phrase ("microphone", "red umbrella") in images.

The embedded referrer judges "the person holding a microphone" from geometry: the person's box
and keypoints, and the boxes a grounder finds for "microphone". Backends differ in score scales
(OWLv2 scores of 0.1 are confident, Grounding DINO's 0.35, Florence-2 gives none), so each maps
its own threshold to 0.5 (``calibrate``): a calibrated score at or above 0.5 means "the backend
says it is there", whatever the backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from refcli.registry import Registry

Image = npt.NDArray[np.uint8]
Found = list[tuple[list[float], float]]
"""Boxes (xyxy, image pixels) with calibrated scores, for one image and one phrase."""

__all__ = ["DEFAULT_GROUNDER", "Found", "Grounder", "calibrate", "create_grounder", "grounders"]

DEFAULT_GROUNDER = "coco"
"""The grounder a query about things gets when it names none: the COCO detector inside refcli."""


def calibrate(raw: float, threshold: float) -> float:
    """Map a backend's raw score to [0, 1] so that its own threshold lands on 0.5."""
    if raw >= threshold:
        return float(0.5 + 0.5 * (raw - threshold) / max(1e-6, 1.0 - threshold))
    return float(0.5 * raw / max(1e-6, threshold))


class Grounder(ABC):
    """Finds a phrase's boxes in batches of images."""

    name: ClassVar[str]

    @property
    @abstractmethod
    def version(self) -> str:
        """Names the model and its settings: part of the grounding cache key."""

    @abstractmethod
    def ground(self, images: Sequence[Image], phrase: str) -> list[Found]:
        """For each image, the boxes of ``phrase`` with calibrated scores (only those >= 0.5)."""

    def understands(self, phrase: str) -> bool:
        """Whether ``phrase`` names something this grounder can look for (open-vocabulary
        grounders: anything; the embedded COCO detector: its 80 things and their common words)."""
        return True


grounders: Registry[Grounder] = Registry("object grounder")
grounders.register("coco", "refcli.ground.coco:COCOGrounder")
grounders.register("owlv2", "refcli.ground.hf:OWLv2Grounder", extra="models")
grounders.register("grounding-dino", "refcli.ground.hf:GroundingDinoGrounder", extra="models")
grounders.register("florence-2", "refcli.ground.hf:Florence2Grounder", extra="models")


def create_grounder(name: str, **options: Any) -> Grounder:
    """Build the grounder registered under ``name`` with ``options`` (model, device...); an option
    it does not take is a UsageError."""
    return grounders.create(name, **options)
