"""What `find` answers: hits (one person over one stretch of time) and how their time is written."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Hit:
    """One matching person over one stretch of time."""

    path: str
    kind: str
    time: float | None  # the best sample's time; null for photos
    start: float | None
    end: float | None
    box: list[float]
    score: float
    track: int | None
    content_id: str
    id: str
    paths: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def rank(self) -> tuple[float, str, float, int]:
        """Where it comes in an answer: best first, then by path and time; ties (one track's
        person seen twice at once cannot tie) by track."""
        return (-self.score, self.path, self.start if self.start is not None else -1.0,
                self.track if self.track is not None else -1)


@dataclass
class FindResult:
    query: str
    backend: str
    total: int
    hits: list[Hit]
    unsupported: list[str]
    ignored: list[str] = field(default_factory=list)  # unsupported phrases dropped on request
    warnings: list[str] = field(default_factory=list)  # e.g. model answers that could not be parsed
    frames_judged: int = 0
    frames_grounded: int = 0  # (frame, object phrase) pairs that ran the grounder (not from its cache)
    tracks_judged: int = 0  # tracks judged whole, from the tracks table (refcli.query.tracks)

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "backend": self.backend, "total": self.total,
                "hits": [h.to_dict() for h in self.hits], "unsupported": self.unsupported, "ignored": self.ignored,
                "warnings": self.warnings, "frames_judged": self.frames_judged,
                "frames_grounded": self.frames_grounded, "tracks_judged": self.tracks_judged}


def format_time(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{rest:04.1f}" if hours else f"{minutes:02d}:{rest:04.1f}"


def format_span(start: float | None, end: float | None) -> str:
    if start is None:
        return ""
    if end is None or end == start:
        return format_time(start)
    return f"{format_time(start)}-{format_time(end)}"
