"""The embedded referrer: judges what can be measured from boxes alone, on CPU, with no model.

Today: subject and number ("person", "people", "everyone") and position (left/right/top/
bottom/middle regions, extremes, ordinals counted from a side). Anything else in the
expression is reported as unsupported and nobody is chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from refcli.refer import ReferRequest, Referrer, ReferResult
from refcli.refer.grammar import ParsedExpression, Position, parse

_AXIS = {"left": (0, False), "right": (0, True), "top": (1, False), "bottom": (1, True)}


class EmbeddedReferrer(Referrer):
    """Grammar + box geometry; multi-instance, rejects what it cannot judge."""

    name: ClassVar[str] = "embedded"

    def refer(self, requests: Sequence[ReferRequest]) -> list[ReferResult]:
        return [self._refer_one(r) for r in requests]

    def unsupported(self, expression: str) -> tuple[str, ...]:
        return parse(expression).unsupported

    def _refer_one(self, request: ReferRequest) -> ReferResult:
        parsed = parse(request.expression)
        if not parsed.understood:
            return ReferResult(unsupported=parsed.unsupported)
        chosen = select(parsed, request.boxes, request.size)
        return ReferResult(indexes=tuple(int(i) for i in chosen),
                           scores=tuple(float(request.scores[i]) for i in chosen))


def select(parsed: ParsedExpression, boxes: npt.NDArray[np.float32], size: tuple[int, int]) -> list[int]:
    """Indexes of the boxes that satisfy every position constraint, in candidate order."""
    chosen = np.arange(len(boxes))
    if len(boxes) == 0:
        return []
    centers = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], axis=1)
    for position in parsed.positions:
        chosen = _apply(position, parsed.plural, chosen, centers, size)
    return sorted(int(i) for i in chosen)


def _apply(position: Position, plural: bool, chosen: np.ndarray, centers: np.ndarray,
           size: tuple[int, int]) -> np.ndarray:
    if len(chosen) == 0:
        return chosen
    if position.side == "middle":
        return _middle(plural, chosen, centers, size)
    axis, descending = _AXIS[position.side]
    values = centers[chosen, axis]
    in_half = values > size[axis] / 2 if descending else values < size[axis] / 2
    if position.rank is None:
        if plural:
            return chosen[in_half]  # "people on the left": everyone in the left half
        if len(chosen) == 1:
            return chosen[in_half]  # a lone person is "on the left" only if they are
        rank = 1  # "the person on the left" among several: the leftmost
    else:
        rank = position.rank
    order = np.argsort(-values if descending else values, kind="stable")
    return chosen[order[rank - 1:rank]] if rank <= len(order) else chosen[:0]


def _middle(plural: bool, chosen: np.ndarray, centers: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    x = centers[chosen, 0]
    central = np.abs(x - size[0] / 2) < size[0] / 6  # the middle third
    if plural:
        return chosen[central]
    best = int(np.argmin(np.abs(x - size[0] / 2)))
    return chosen[best:best + 1] if central[best] else chosen[:0]
