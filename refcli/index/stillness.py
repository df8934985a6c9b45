"""Static-camera footage: whether a video sample can reuse the boxes of the last detected one.

A fixed camera filming an empty or motionless scene gives the detector the same picture again
and again. Each sample is shrunk to a small grayscale thumbnail (box-averaged, so sensor noise
and compression artefacts average out) and compared with the thumbnail of the last sample the
detector actually ran on — not the last reused one, so slow drift adds up until it forces a
detection. The scene changed when enough thumbnail pixels moved by more than the noise level: a
count, not a mean, so that one small person walking is a change however still the rest is,
and a flicker of single pixels is not. Whatever happens, the detector runs again after
``refresh_seconds``, so a scene that changes below the threshold (a person turning very slowly,
a light dimming) is never described by old boxes for long.

Pure: no I/O, no state beyond one file's ``StillGate``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

Thumbnail = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Stillness:
    """When a sample counts as unchanged.

    Attributes:
        width: thumbnail width in pixels; each thumbnail pixel is the mean of a block of the
            frame (12 x 12 pixels of a 768-pixel frame), where noise averages out but a person
            (at least a few blocks) does not.
        noise_level: gray levels (of 255) a thumbnail pixel may differ by without counting as
            changed: well above averaged sensor and compression noise (about 1 level).
        changed_fraction: the scene changed when more than this fraction of the thumbnail's
            pixels changed (0.001: 3 of a 64 x 48 thumbnail, fewer than the smallest person the
            detector finds covers).
        refresh_seconds: detect at least this often anyway (at 2 fps: every 8th sample).
    """

    width: int = 64
    noise_level: int = 10
    changed_fraction: float = 0.001
    refresh_seconds: float = 4.0

    @property
    def version(self) -> str:
        """What the rule is, for the pipeline signature: a change re-indexes what used it."""
        return f"1:{self.width}:{self.noise_level}:{self.changed_fraction:g}:{self.refresh_seconds:g}"


STILLNESS = Stillness()


def thumbnail(image: npt.NDArray[np.uint8], width: int = STILLNESS.width) -> Thumbnail:
    """The (H, W) uint8 grayscale thumbnail of an (H, W, 3) RGB image, ``width`` pixels wide or
    a little more: each pixel the mean of a block of the image (12 x 12 of a 768-pixel frame),
    taken over every few pixels of it (every 4th: 3 x 3 of them), which averages noise out
    enough (tests/unit/test_stillness.py) in half the time of reading every pixel."""
    factor = max(1, image.shape[1] // width)
    step = max(1, factor // 3)
    picture = Image.fromarray(np.ascontiguousarray(image[::step, ::step]))
    if factor // step > 1:
        picture = picture.reduce(factor // step)
    return np.asarray(picture.convert("L"))


def changed(before: Thumbnail, after: Thumbnail, rule: Stillness = STILLNESS) -> bool:
    """Whether the scene differs between two thumbnails (of different sizes: always)."""
    if before.shape != after.shape:
        return True
    moved = np.abs(before.astype(np.int16) - after.astype(np.int16)) > rule.noise_level
    return int(moved.sum()) > rule.changed_fraction * before.size


class StillGate:
    """One video's samples, in order: which ones the detector must see.

    ``detect`` answers for each sample in turn and remembers the thumbnail of the last one it
    sent to the detector; a sample it lets through reuses that sample's detections.
    """

    def __init__(self, fps: float, rule: Stillness = STILLNESS) -> None:
        self.rule = rule
        self.refresh = max(1, int(rule.refresh_seconds * fps))  # samples between forced detections
        self._last: Thumbnail | None = None
        self._since = 0  # samples since the last detected one

    def detect(self, image: npt.NDArray[np.uint8]) -> bool:
        """True: run the detector on this sample; False: reuse the last detected sample's boxes."""
        thumb = thumbnail(image, self.rule.width)
        self._since += 1
        if self._last is None or self._since >= self.refresh or changed(self._last, thumb, self.rule):
            self._last, self._since = thumb, 0
            return True
        return False
