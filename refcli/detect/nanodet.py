"""Person detector: the person class of the COCO-80 NanoDet-g inside refcli (refcli/weights).

It sees a 416x416 picture (SSDLite: 300x300), so it finds smaller and partly hidden people, at
2.1-2.4 times the cost per frame (bench/bench_detectors.py measures both on labelled photos;
docs/benchmarks.md has the numbers). `refcli index --detector nanodet`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from refcli.defaults import PEOPLE_MIN_SCORE
from refcli.detect import Detector, Image
from refcli.detections import Detections

CANDIDATE_MIN_SCORE = 0.2
NMS_IOU = 0.5
PERSON_AT = 0.4
"""NanoDet's score at which a box is a person: on the labelled everyday photos it then finds 41 of
60 people with 2 false boxes (SSDLite at 0.5: 22 with 3). Scores are mapped so that this lands
on refcli's PEOPLE_MIN_SCORE, so `find --min-score` means the same for both detectors."""


def calibrated(raw: np.ndarray) -> np.ndarray:
    """NanoDet's raw person scores, mapped piecewise linearly: PERSON_AT -> PEOPLE_MIN_SCORE, 1 -> 1."""
    low = raw * (PEOPLE_MIN_SCORE / PERSON_AT)
    high = PEOPLE_MIN_SCORE + (raw - PERSON_AT) * ((1 - PEOPLE_MIN_SCORE) / (1 - PERSON_AT))
    return np.where(raw < PERSON_AT, low, high).astype(np.float32)


def raw_score(score: float) -> float:
    """The raw NanoDet score that ``calibrated`` maps to ``score``."""
    if score < PEOPLE_MIN_SCORE:
        return score * PERSON_AT / PEOPLE_MIN_SCORE
    return PERSON_AT + (score - PEOPLE_MIN_SCORE) * (1 - PERSON_AT) / (1 - PEOPLE_MIN_SCORE)


class NanoDetPersonDetector(Detector):
    """NanoDet's person boxes, on the CPU with no download.

    Args:
        threads: onnxruntime intra-op threads (default 1, as the SSDLite detector).
        min_score: candidate floor (on calibrated scores); boxes below it are dropped.
    """

    name: ClassVar[str] = "nanodet"

    def __init__(self, threads: int | None = None, min_score: float = CANDIDATE_MIN_SCORE) -> None:
        self.threads = threads or 1
        self.min_score = min_score

    @property
    def version(self) -> str:
        from refcli.weights import MODELS

        return (f"nanodet-g-person-{MODELS['nanodet'][1][:12]}-416-bgrnorm-min{self.min_score:g}-nms{NMS_IOU:g}"
                f"-at{PERSON_AT:g}")

    @cached_property
    def _session(self) -> Any:
        from refcli.weights import session

        return session("nanodet", self.threads)

    def detect(self, images: Sequence[Image]) -> list[Detections]:
        from refcli.weights.nanodet import objects

        out = []
        floor = raw_score(self.min_score)
        for image in images:
            people = [(box, score) for box, score, label in objects(self._session, image, floor, NMS_IOU)
                      if label == "person"]
            out.append(Detections(xyxy=np.array([b for b, _ in people], np.float32).reshape(-1, 4),
                                  confidence=calibrated(np.array([s for _, s in people], np.float32))))
        return out
