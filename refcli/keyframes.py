"""Keyframes: which sampled frames show a person best, chosen online, and how they are stored.

A track keeps at most a few keyframes spread over its time range, preferring frames where the
person is large, sharp and fully inside the picture. Choice is online (one pass, bounded
state) so memory does not grow with video length.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

KEYFRAMES_PER_TRACK = 3
KEYFRAME_LONG_SIDE = 1280
"""Stored keyframes are at most this long (≥ 768 px, as referring models need, or the
original size if smaller)."""
KEYFRAME_QUALITY = 85
MIN_SAMPLES_FOR_KEYFRAMES = 2
"""One-sample tracks (a glimpse, a detector flicker) store no keyframe: on vtest.avi they were
half of all tracks, and `refcli show` decodes their frame from the file instead."""
_FIRST_WINDOW = 2.0  # seconds; doubles whenever a track has more windows than keyframes


def person_quality(image: npt.NDArray[np.uint8], box: npt.ArrayLike, confidence: float) -> float:
    """How well a frame shows the person in ``box``: size x sharpness x confidence x not cut off.

    Sharpness is the variance of a Laplacian over the crop, sampled down to about 96 rows so
    large and small people are judged alike, squashed into [0, 1).
    """
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in np.asarray(box, dtype=np.float64))
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    if x2 - x1 < 3 or y2 - y1 < 3:
        return 0.0
    step = max(1, (y2 - y1) // 96)
    gray = image[y1:y2:step, x1:x2:step].astype(np.float32).mean(axis=2)
    if min(gray.shape) < 3:
        return 0.0
    laplacian = 4 * gray[1:-1, 1:-1] - gray[:-2, 1:-1] - gray[2:, 1:-1] - gray[1:-1, :-2] - gray[1:-1, 2:]
    variance = float(laplacian.var())
    sharpness = variance / (variance + 50.0)
    inside = 0.6 if (x1 <= 1 or y1 <= 1 or x2 >= w - 1 or y2 >= h - 1) else 1.0
    return math.sqrt((x2 - x1) * (y2 - y1)) * confidence * sharpness * inside


@dataclass
class KeyframePicker:
    """Best frame per time window; windows double in length when there are too many.

    Spread over the track (one per window) and best within each window, in one pass.
    """

    start: float
    limit: int = KEYFRAMES_PER_TRACK
    window: float = _FIRST_WINDOW
    best: dict[int, tuple[float, int, float]] = field(default_factory=dict)  # window -> (quality, sample, time)

    def offer(self, time: float, sample: int, quality: float) -> None:
        slot = int((time - self.start) // self.window)
        if slot not in self.best or quality > self.best[slot][0]:
            self.best[slot] = (quality, sample, time)
        while len(self.best) > self.limit:
            self.window *= 2
            merged: dict[int, tuple[float, int, float]] = {}
            for quality_, sample_, time_ in self.best.values():
                key = int((time_ - self.start) // self.window)
                if key not in merged or quality_ > merged[key][0]:
                    merged[key] = (quality_, sample_, time_)
            self.best = merged

    def chosen(self) -> list[tuple[int, float]]:
        """Chosen (sample index, time), in time order."""
        return [(sample, time) for _, sample, time in sorted(self.best.values(), key=lambda item: item[2])]


@dataclass(frozen=True)
class EncodedKeyframe:
    jpeg: bytes
    width: int
    height: int
    scale: float  # keyframe pixels per pixel of the image given: box_in_keyframe = box * scale


def encode_keyframe(image: npt.NDArray[np.uint8], long_side: int = KEYFRAME_LONG_SIDE) -> EncodedKeyframe:
    from PIL import Image

    picture, scale = _fit(Image.fromarray(image), long_side)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=KEYFRAME_QUALITY)
    return EncodedKeyframe(buffer.getvalue(), picture.width, picture.height, scale)


def keyframe_sized(image: npt.NDArray[np.uint8], long_side: int = KEYFRAME_LONG_SIDE
                   ) -> tuple[npt.NDArray[np.uint8], float]:
    """``image`` reduced as ``encode_keyframe`` reduces it, and its scale: a frame held only for
    its keyframe costs no more than the keyframe, and encodes to the same JPEG."""
    if max(image.shape[:2]) <= long_side:
        return image, 1.0
    from PIL import Image

    picture, scale = _fit(Image.fromarray(image), long_side)
    return np.asarray(picture), scale


def _fit(picture: Any, long_side: int) -> tuple[Any, float]:
    from PIL import Image

    scale = min(1.0, long_side / max(picture.size))
    if scale < 1.0:
        picture = picture.resize((round(picture.width * scale), round(picture.height * scale)),
                                 Image.Resampling.BILINEAR, reducing_gap=2.0)
    return picture, scale


def decode_keyframe(jpeg: bytes) -> npt.NDArray[np.uint8]:
    from PIL import Image

    with Image.open(io.BytesIO(jpeg)) as picture:
        return np.asarray(picture.convert("RGB"))
