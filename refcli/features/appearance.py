"""What a person's clothes look like, finer than colour names: a hue-saturation-value histogram
of the upper and of the lower body, averaged over a track's keyframes, on the track row.

Colour names are what queries say ("in red"), and too coarse to tell two people in dark coats
apart; these histograms are what joins the pieces of one person's track (refcli.relink). Hue is
counted in 8 sectors by 3 saturations by 4 values; pixels with little saturation only by value
(grey is grey whatever its hue). A grayscale picture has no appearance (null).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from refcli.features import Chosen, Feature, HeldFrame, Stored, TrackSoFar, measure_keyframe_candidates
from refcli.features.colors import body_regions, is_grayscale, sampling

HUES, SATURATIONS, VALUES = 8, 3, 4
GREY_SATURATION = 40  # of 255: below it a pixel is counted by its value alone
BINS = HUES * SATURATIONS * VALUES + VALUES
PARTS = ("upper", "lower")
VERSION = "hsv-8x3x4+4/v1"


def histogram(pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """(N, 3) RGB pixels -> their share in each HSV bin (BINS, summing to 1; zeros when empty)."""
    if len(pixels) == 0:
        return np.zeros(BINS, np.float32)
    from PIL import Image

    hsv = np.asarray(Image.fromarray(pixels.reshape(-1, 1, 3)).convert("HSV")).reshape(-1, 3).astype(np.int64)
    hue, sat, value = hsv[:, 0] * HUES // 256, np.minimum(hsv[:, 1] * SATURATIONS // 256, SATURATIONS - 1), \
        np.minimum(hsv[:, 2] * VALUES // 256, VALUES - 1)
    bins = np.where(hsv[:, 1] < GREY_SATURATION, HUES * SATURATIONS * VALUES + value,
                    (hue * SATURATIONS + sat) * VALUES + value)
    return (np.bincount(bins, minlength=BINS) / len(bins)).astype(np.float32)


def appearance(image: npt.NDArray[np.uint8], box: npt.ArrayLike) -> npt.NDArray[np.float32] | None:
    """The upper body's histogram, then the lower body's (2 * BINS); None for a grayscale picture."""
    if is_grayscale(image):
        return None
    regions = body_regions(box)
    parts = []
    for part in PARTS:
        sampled = sampling(image, regions[part])
        if sampled is None:
            parts.append(np.zeros(BINS, np.float32))  # nothing of that part in the picture
            continue
        (x1, y1, x2, y2), step = sampled
        parts.append(histogram(image[y1:y2:step, x1:x2:step].reshape(-1, 3)))
    return np.concatenate(parts)


def similarity(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """How alike two appearances are: the Bhattacharyya coefficient of the upper bodies' and of the
    lower bodies' histograms, the smaller of the two (0..1; 1: the same)."""
    x, y = np.asarray(a, np.float64).reshape(2, BINS), np.asarray(b, np.float64).reshape(2, BINS)
    return float(np.min(np.sum(np.sqrt(x * y), axis=1)))


class AppearanceFeature(Feature):
    """Clothing histograms of a track, averaged over its keyframes, on the track row."""

    name: ClassVar[str] = "appearance"
    track_fields: ClassVar[tuple[pa.Field, ...]] = (pa.field("appearance", pa.list_(pa.float32())),)

    @property
    def version(self) -> str:
        return VERSION

    def start(self) -> dict[int, npt.NDArray[np.float32] | None]:
        return {}  # sample -> appearance measured while its frame was whole

    def on_sample(self, state: dict[int, Any], track: TrackSoFar, sample: int, frame: HeldFrame, chosen: set[int],
                  whole: bool) -> None:
        measure_keyframe_candidates(state, sample, chosen, whole,
                                    lambda: appearance(frame.image, frame.box(track.boxes[-4:])))

    def finish(self, state: dict[int, Any], track: TrackSoFar, chosen: Chosen, frames: Mapping[int, HeldFrame],
               others: Mapping[str, Any]) -> Stored:
        measured = []
        for s, _ in chosen:
            if s in state:
                measured.append(state[s])
            elif s in frames:
                measured.append(appearance(frames[s].image, frames[s].box(track.box_at(s))))
        if not measured or any(m is None for m in measured):
            return Stored({"appearance": None})
        return Stored({"appearance": [round(float(v), 4) for v in np.mean(np.stack(measured), axis=0)]})
