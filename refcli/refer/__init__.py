"""Referrers: given an image's candidate people and an expression, choose the matching ones.

Multi-instance with rejection: a result may choose zero, one or many candidates. A backend
that cannot judge part of an expression lists that part in ``unsupported`` and chooses
nobody rather than guessing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from refcli.registry import Registry

__all__ = ["DEFAULT_REFERRER", "ReferRequest", "ReferResult", "Referrer", "create_referrer", "referrers"]


@dataclass(frozen=True)
class ReferRequest:
    """One image, its candidate boxes and the expression to resolve.

    Attributes:
        expression: the user's description, e.g. "the second person from the left".
        boxes: (N, 4) float32 xyxy candidate boxes in displayed pixels.
        scores: (N,) float32 detector confidences.
        size: (width, height) of the displayed image.
        image: (H, W, 3) uint8 RGB, only for backends with ``needs_image``.
    """

    expression: str
    boxes: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    size: tuple[int, int]
    image: npt.NDArray[np.uint8] | None = None


@dataclass(frozen=True)
class ReferResult:
    """Chosen candidate indexes (into the request's boxes), a score for each, and what was not judged."""

    indexes: tuple[int, ...] = ()
    scores: tuple[float, ...] = ()
    unsupported: tuple[str, ...] = field(default=())


class Referrer(ABC):
    """Resolves referring expressions against candidate boxes, in batches."""

    name: ClassVar[str]
    needs_image: ClassVar[bool] = False

    @abstractmethod
    def refer(self, requests: Sequence[ReferRequest]) -> list[ReferResult]:
        """One result per request, in order."""

    def unsupported(self, expression: str) -> tuple[str, ...]:
        """Parts of ``expression`` this backend cannot judge, known before looking at any image."""
        return ()


referrers: Registry[Referrer] = Registry("referrer")
referrers.register("embedded", "refcli.refer.embedded:EmbeddedReferrer")
referrers.register("all-persons", "refcli.refer.baselines:AllPersonsReferrer")

DEFAULT_REFERRER = "embedded"


def create_referrer(name: str = DEFAULT_REFERRER) -> Referrer:
    return referrers.load(name)()
