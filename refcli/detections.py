"""The one data type that carries boxes through every stage (detector, tracker, store, referrer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]

def box_iou(a: Any, b: Any) -> float:
    """Intersection over union of two ``[x1, y1, x2, y2]`` boxes (0 when they do not overlap)."""
    x1, y1, x2, y2 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    if x2 <= x1 or y2 <= y1:
        return 0.0
    inter = (x2 - x1) * (y2 - y1)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


NO_TRACK = -1
"""tracker_id of a box that belongs to no track (yet)."""


@dataclass
class Detections:
    """People found in one image, as parallel arrays.

    Attributes:
        xyxy: (N, 4) float32 boxes in displayed pixels, x1 < x2, y1 < y2.
        confidence: (N,) float32 detector scores in [0, 1].
        tracker_id: (N,) int32 track ids; ``NO_TRACK`` until a tracker assigns one.
        data: per-box extras, each an array of length N (features, embeddings).
    """

    xyxy: FloatArray
    confidence: FloatArray
    tracker_id: IntArray = field(default_factory=lambda: np.empty(0, np.int32))
    data: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.xyxy = np.asarray(self.xyxy, dtype=np.float32)
        if self.xyxy.size == 0:
            self.xyxy = self.xyxy.reshape(0, 4)
        self.confidence = np.asarray(self.confidence, dtype=np.float32)
        n = len(self.xyxy)
        if self.xyxy.ndim != 2 or self.xyxy.shape[1] != 4:
            raise ValueError(f"xyxy must have shape (N, 4), got {self.xyxy.shape}")
        if self.confidence.shape != (n,):
            raise ValueError(f"confidence must have shape ({n},), got {self.confidence.shape}")
        if len(self.tracker_id) == 0 and n:
            self.tracker_id = np.full(n, NO_TRACK, np.int32)
        self.tracker_id = np.asarray(self.tracker_id, dtype=np.int32)
        if self.tracker_id.shape != (n,):
            raise ValueError(f"tracker_id must have shape ({n},), got {self.tracker_id.shape}")
        for key, value in self.data.items():
            if len(value) != n:
                raise ValueError(f"data[{key!r}] must have length {n}, got {len(value)}")

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.empty((0, 4), np.float32), np.empty(0, np.float32))

    def __len__(self) -> int:
        return len(self.xyxy)

    @overload
    def __getitem__(self, index: int) -> Detections: ...
    @overload
    def __getitem__(self, index: slice | npt.NDArray[Any] | list[int]) -> Detections: ...
    def __getitem__(self, index: Any) -> Detections:
        """Select boxes by index, slice, or boolean mask; always returns Detections."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Detections(
            xyxy=self.xyxy[index],
            confidence=self.confidence[index],
            tracker_id=self.tracker_id[index],
            data={k: v[index] for k, v in self.data.items()},
        )

    @property
    def area(self) -> FloatArray:
        w = np.clip(self.xyxy[:, 2] - self.xyxy[:, 0], 0, None)
        h = np.clip(self.xyxy[:, 3] - self.xyxy[:, 1], 0, None)
        return (w * h).astype(np.float32)

    @property
    def center(self) -> FloatArray:
        """(N, 2) box centres (x, y)."""
        return np.stack(
            [(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, (self.xyxy[:, 1] + self.xyxy[:, 3]) / 2], axis=1
        ).astype(np.float32)

    @classmethod
    def merge(cls, items: list[Detections]) -> Detections:
        """Concatenate several Detections (same data keys) into one."""
        items = [d for d in items if len(d)]
        if not items:
            return cls.empty()
        keys = set(items[0].data)
        return cls(
            xyxy=np.concatenate([d.xyxy for d in items]),
            confidence=np.concatenate([d.confidence for d in items]),
            tracker_id=np.concatenate([d.tracker_id for d in items]),
            data={k: np.concatenate([d.data[k] for d in items]) for k in keys},
        )
