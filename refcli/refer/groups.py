"""Crowds: a model that takes at most N candidates sees overlapping groups, answers are merged.

Candidates are ordered left to right and cut into windows of ``max_size`` that overlap by
``overlap`` candidates, so neighbours always share a window at least once; a candidate
chosen in any window is chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from refcli.refer import ReferRequest, ReferResult


def split_groups(boxes: np.ndarray, max_size: int, overlap: int) -> list[list[int]]:
    """Candidate indexes per group; one group when they fit."""
    n = len(boxes)
    if n <= max_size:
        return [list(range(n))]
    overlap = min(overlap, max_size - 1)
    order = np.argsort((boxes[:, 0] + boxes[:, 2]) / 2, kind="stable").tolist()
    step = max_size - overlap
    groups = []
    for start in range(0, n, step):
        groups.append(order[start:start + max_size])
        if start + max_size >= n:
            break
    return groups


def refer_in_groups(refer: Callable[[Sequence[ReferRequest]], list[ReferResult]], requests: Sequence[ReferRequest],
                    max_size: int, overlap: int = 10) -> list[ReferResult]:
    """Like ``refer(requests)`` but no request carries more than ``max_size`` candidates."""
    expanded: list[ReferRequest] = []
    owners: list[tuple[int, list[int]]] = []
    for r, request in enumerate(requests):
        for group in split_groups(request.boxes, max_size, overlap):
            idx = np.array(group, np.int64)
            features = [request.features[i] for i in group] if request.features is not None else None
            expanded.append(ReferRequest(request.expression, request.boxes[idx], request.scores[idx], request.size,
                                         request.image, features))
            owners.append((r, group))
    results = refer(expanded)
    merged: list[dict[int, float]] = [{} for _ in requests]
    unsupported: list[list[str]] = [[] for _ in requests]
    warnings: list[list[str]] = [[] for _ in requests]
    for (r, group), result in zip(owners, results):
        for i, score in zip(result.indexes, result.scores):
            original = group[i]
            merged[r][original] = max(score, merged[r].get(original, 0.0))
        unsupported[r] += [p for p in result.unsupported if p not in unsupported[r]]
        warnings[r] += [w for w in result.warnings if w not in warnings[r]]
    return [ReferResult(indexes=tuple(sorted(m)), scores=tuple(m[i] for i in sorted(m)),
                        unsupported=tuple(unsupported[r]), warnings=tuple(warnings[r]))
            for r, m in enumerate(merged)]
