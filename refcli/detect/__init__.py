"""Person detectors: a small ABC and a registry of backends, imported only when chosen."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from refcli.config import DEFAULT_DETECTOR
from refcli.detections import Detections
from refcli.registry import Registry

Image = npt.NDArray[np.uint8]
"""(H, W, 3) uint8 RGB, in displayed orientation."""

__all__ = ["DEFAULT_DETECTOR", "Detector", "create_detector", "detectors"]


class Detector(ABC):
    """Proposes person boxes; referrers later choose among them.

    A backend returns every box at or above ``min_score`` (a low floor: candidates for the
    referrer, not final answers), in the pixels of the image it was given.
    """

    name: ClassVar[str]

    @property
    @abstractmethod
    def version(self) -> str:
        """Names the weights, pre/post-processing and score floor: part of the index signature."""

    @abstractmethod
    def detect(self, images: Sequence[Image]) -> list[Detections]:
        """Detect people in a batch of images; one Detections per image, same order."""


detectors: Registry[Detector] = Registry("detector")
detectors.register("ssdlite", "refcli.detect.ssdlite:SSDLitePersonDetector")
detectors.register("nanodet", "refcli.detect.nanodet:NanoDetPersonDetector")
detectors.register("hf", "refcli.detect.hf:HFDetector", extra="models")



class CountingDetector(Detector):
    """A detector that counts the images it is given, then lets ``inner`` detect them: how the
    benchmarks and tests measure the detector calls indexing saves (refcli.index.stillness)."""

    name = "counting"

    def __init__(self, inner: Detector) -> None:
        self.inner, self.images = inner, 0

    @property
    def version(self) -> str:
        return self.inner.version

    def detect(self, images: Sequence[Any]) -> list[Detections]:
        self.images += len(images)
        return self.inner.detect(images)


def create_detector(name: str = DEFAULT_DETECTOR, *, threads: int | None = None, device: str | None = None,
                    **options: Any) -> Detector:
    """Build the detector registered under ``name``. ``threads`` and ``device`` go to the backends
    that take them (where to run is a machine's setting, not a detector's); every other option
    given (a model...) must be one the detector takes, else a UsageError: `index --detector-model`
    with a detector that has no model choice is a mistake to name, not to ignore. None values are
    left to the backend's defaults."""
    return detectors.create(name, offered={"threads": threads, "device": device}, **options)
