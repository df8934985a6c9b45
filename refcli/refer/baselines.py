"""Reference referrers for benchmarks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from refcli.refer import ReferRequest, Referrer, ReferResult, TrackTerms


class AllPersonsReferrer(Referrer):
    """Answers every candidate, whatever the expression: the paper's "all persons" baseline row."""

    name: ClassVar[str] = "all-persons"

    def refer(self, requests: Sequence[ReferRequest]) -> list[ReferResult]:
        return [ReferResult(indexes=tuple(range(len(r.boxes))), scores=tuple(float(s) for s in r.scores))
                for r in requests]

    def per_track(self, expression: str) -> TrackTerms:
        return TrackTerms(alone=True, exact=True)  # everyone, at every moment
