"""Clothing colours named in CIELAB, not raw RGB.

Pixels are converted to LAB and named by lightness, chroma and hue angle (LCh): achromatic
pixels (low chroma) are black, gray or white by lightness; chromatic ones by hue sector, with
dark oranges named brown and light reds/magentas named pink. Shares of each name over the
upper and lower body are stored per track. A grayscale picture claims no colours at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from refcli.features import Chosen, Feature, HeldFrame, Moment, Offer, Stored, TrackSoFar, measure_keyframe_candidates

if TYPE_CHECKING:
    from refcli.store import Store

COLOURS = ("black", "gray", "white", "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown")
_SKIN = len(COLOURS)  # pixels named as skin tones: counted, never reported as a clothing colour

SYNONYMS = {
    "grey": "gray", "silver": "gray", "charcoal": "gray",
    "crimson": "red", "scarlet": "red", "maroon": "red", "burgundy": "red", "cherry": "red", "ruby": "red",
    "navy": "blue", "azure": "blue", "cyan": "blue", "turquoise": "blue", "teal": "blue", "indigo": "blue",
    "denim": "blue", "cobalt": "blue",
    "violet": "purple", "lavender": "purple", "lilac": "purple", "magenta": "pink", "fuchsia": "pink",
    "rose": "pink", "salmon": "pink",
    "olive": "green", "lime": "green", "khaki": "green", "emerald": "green",
    "gold": "yellow", "golden": "yellow", "mustard": "yellow",
    "tan": "brown", "beige": "brown", "chocolate": "brown", "camel": "brown",
    "ivory": "white", "cream": "white",
}
"""Words users type, mapped to the vocabulary refcli can measure."""

MIN_SHARE = 0.2
"""A colour counts as worn on a body part when it covers at least this share of it."""
_ACHROMATIC_CHROMA = 14.0
_GRAYSCALE_CHROMA = 4.0


def colour_word(word: str) -> str | None:
    """The measurable colour a word names, or None."""
    word = word.lower()
    return word if word in COLOURS else SYNONYMS.get(word)


def srgb_to_lab(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """(..., 3) sRGB uint8 -> (..., 3) CIELAB (D65)."""
    c = rgb.astype(np.float32) / 255.0
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = c @ np.array([[0.4124, 0.2126, 0.0193], [0.3576, 0.7152, 0.1192], [0.1805, 0.0722, 0.9505]],
                       np.float32)
    xyz /= np.array([0.95047, 1.0, 1.08883], np.float32)
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def name_pixels(lab: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
    """Index into COLOURS for each LAB pixel."""
    lightness, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    chroma = np.hypot(a, b)
    hue = (np.degrees(np.arctan2(b, a)) + 360) % 360
    names = np.full(lightness.shape, COLOURS.index("gray"), np.int64)
    # Chromatic: hue sectors of the LCh wheel (red ~20-40, yellow ~90, green ~140, blue ~270).
    sectors = [(0, 15, "pink"), (15, 50, "red"), (50, 75, "orange"), (75, 100, "yellow"), (100, 195, "green"),
               (195, 308, "blue"), (308, 345, "purple"), (345, 360, "pink")]
    for low, high, name in sectors:
        names[(hue >= low) & (hue < high)] = COLOURS.index(name)
    red, orange, yellow = COLOURS.index("red"), COLOURS.index("orange"), COLOURS.index("yellow")
    pink = COLOURS.index("pink")
    names[((names == orange) | (names == yellow)) & (lightness < 50) & (chroma < 50)] = COLOURS.index("brown")
    names[(names == red) & (lightness > 70)] = pink
    names[(names == pink) & (lightness < 35)] = red  # dark magenta-red reads as red (burgundy)
    # Skin: light, weakly saturated orange-red. Beige clothes land here too; better than
    # calling every face and bare arm "orange".
    names[(hue >= 25) & (hue < 80) & (chroma < 35) & (lightness > 45)] = _SKIN
    achromatic = chroma < _ACHROMATIC_CHROMA + 0.15 * np.clip(lightness - 60, 0, None)
    names[achromatic & (lightness < 30)] = COLOURS.index("black")
    names[achromatic & (lightness >= 30) & (lightness < 72)] = COLOURS.index("gray")
    names[achromatic & (lightness >= 72)] = COLOURS.index("white")
    return names


def is_grayscale(image: npt.NDArray[np.uint8]) -> bool:
    """True when (nearly) no pixel has colour: old photos, night-vision, CCTV in mono."""
    small = image[:: max(1, image.shape[0] // 48), :: max(1, image.shape[1] // 48)]
    lab = srgb_to_lab(small.reshape(-1, 3))
    return bool(np.quantile(np.hypot(lab[:, 1], lab[:, 2]), 0.99) < _GRAYSCALE_CHROMA)


def body_regions(box: npt.ArrayLike) -> dict[str, tuple[int, int, int, int]]:
    """Upper body (below the head, to the hips) and lower body (hips to above the feet), central
    60% of the width so that background at the sides counts less. Used when no body pose is known
    (see ``refcli.features.pose.body_regions_from_pose``)."""
    x1, y1, x2, y2 = (float(v) for v in np.asarray(box).tolist())
    w, h = x2 - x1, y2 - y1
    left, right = x1 + 0.2 * w, x2 - 0.2 * w
    return {
        "upper": (int(left), int(y1 + 0.18 * h), int(right), int(y1 + 0.50 * h)),
        "lower": (int(left), int(y1 + 0.55 * h), int(right), int(y1 + 0.88 * h)),
    }


def sampling(image: npt.NDArray[np.uint8],
             region: Sequence[float]) -> tuple[tuple[int, int, int, int], int] | None:
    """``region`` (x1, y1, x2, y2) clipped to the image, and the step that samples it about 48
    times a side (enough to name clothes); None when under 2 px of it is left."""
    h, w = image.shape[:2]
    x1, y1 = max(0, int(region[0])), max(0, int(region[1]))
    x2, y2 = min(w, int(region[2])), min(h, int(region[3]))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    return (x1, y1, x2, y2), max(1, max(y2 - y1, x2 - x1) // 48)


def colour_shares(pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """(N, 3) RGB pixels -> the share of each colour name (COLOURS, then skin tones last)."""
    if len(pixels) == 0:
        return np.zeros(len(COLOURS) + 1)
    return np.bincount(name_pixels(srgb_to_lab(pixels)), minlength=len(COLOURS) + 1) / len(pixels)


def clothing_colours(image: npt.NDArray[np.uint8], box: npt.ArrayLike,
                     regions: dict[str, tuple[int, int, int, int]] | None = None) -> dict[str, dict[str, float]] | None:
    """Share of each colour name on the upper and lower body; None for grayscale pictures.

    ``regions`` (upper/lower boxes, e.g. from body pose keypoints) replace the fixed fractions of
    the person box when given.

    What shows between legs and arms is background: colours the strips beside the person
    share are discounted by half their share there (grass between the legs of a woman in a
    black coat read as "green trousers" before; a green jacket on grass keeps its green).
    """
    if is_grayscale(image):
        return None
    h, w = image.shape[:2]
    bw = int((float(np.asarray(box)[2]) - float(np.asarray(box)[0])) * 0.5)
    out: dict[str, dict[str, float]] = {}
    for part, region in (regions or body_regions(box)).items():
        sampled = sampling(image, region)
        if sampled is None:
            out[part] = {}
            continue
        (x1, y1, x2, y2), step = sampled
        person = colour_shares(image[y1:y2:step, x1:x2:step].reshape(-1, 3))
        # the box's own margins are 20% each side of the central strip; look beyond them
        bx1, bx2 = x1 - int(0.2 / 0.6 * (x2 - x1)), x2 + int(0.2 / 0.6 * (x2 - x1))
        sides = [image[y1:y2:step, max(0, bx1 - bw):max(0, bx1):step],
                 image[y1:y2:step, min(w, bx2):min(w, bx2 + bw):step]]
        beside = np.concatenate([p.reshape(-1, 3) for p in sides]) if any(p.size for p in sides) else \
            np.empty((0, 3), np.uint8)
        shares = np.clip(person - 0.5 * colour_shares(beside), 0, None)[:len(COLOURS)]
        out[part] = {COLOURS[i]: round(float(c), 3) for i, c in enumerate(shares) if c >= 0.05}
    return out


def average(measurements: list[dict[str, dict[str, float]] | None]) -> dict[str, dict[str, float]] | None:
    """Mean shares over a track's keyframes; None if any picture was grayscale or none measured."""
    if not measurements or any(m is None for m in measurements):
        return None
    out: dict[str, dict[str, float]] = {}
    for part in ("upper", "lower"):
        total: dict[str, float] = {}
        for m in measurements:
            for name, share in m[part].items():  # type: ignore[index]
                total[name] = total.get(name, 0.0) + share / len(measurements)
        out[part] = {k: round(v, 3) for k, v in sorted(total.items(), key=lambda kv: -kv[1]) if v >= 0.05}
    return out


@dataclass(frozen=True)
class ClothingColours(Offer):
    """Share of each colour name on a person's upper and lower body (at least 0.05 each)."""

    key: ClassVar[str] = "colours"
    upper: Mapping[str, float]
    lower: Mapping[str, float]

    @classmethod
    def of(cls, measured: Mapping[str, Mapping[str, float]] | None) -> ClothingColours | None:
        """From ``clothing_colours``' answer (None: a grayscale picture, no colours)."""
        return None if measured is None else cls(dict(measured.get("upper", {})), dict(measured.get("lower", {})))

    def worn(self, colour: str, part: str = "any") -> bool:
        """Whether ``colour`` covers at least MIN_SHARE of the part ("upper", "lower", "any")."""
        parts = (self.upper, self.lower) if part == "any" else (self.upper if part == "upper" else self.lower,)
        return any(shares.get(colour, 0.0) >= MIN_SHARE for shares in parts)


COLOUR_SHARES = pa.list_(pa.struct([("name", pa.string()), ("share", pa.float32())]))


def wearing(tracks: pa.Table, colour: str, part: str = "any") -> npt.NDArray[np.bool_]:
    """Per track row, whether ``colour`` is worn on the part (upper, lower, any), vectorised: the
    same test as ``ClothingColours.worn`` on the stored shares (false where colours are unknown)."""
    import pyarrow.compute as pc

    out = np.zeros(tracks.num_rows, np.bool_)
    for column in ("upper_colours", "lower_colours") if part == "any" else (f"{part}_colours",):
        shares = tracks.column(column).combine_chunks()
        flat = pc.list_flatten(shares)
        worn = pc.and_(pc.equal(flat.field("name"), colour),
                       pc.greater_equal(flat.field("share").cast(pa.float64()), MIN_SHARE))
        out[pc.list_parent_indices(shares).filter(worn.fill_null(False)).to_numpy()] = True
    return out


def colours_known(tracks: pa.Table) -> npt.NDArray[np.bool_]:
    """Per track row, whether its colours were measured (not a grayscale picture)."""
    return tracks.column("upper_colours").is_valid().to_numpy(zero_copy_only=False)


class ColoursReader:
    """The stored clothing colours of every track, or of the given track rows (unknown for a
    track not stored)."""

    def __init__(self, store: Store, tracks: pa.Table | None = None) -> None:
        columns = ["content_id", "generation", "track", "upper_colours", "lower_colours"]
        table = store.contents.read("tracks", columns) if tracks is None else tracks
        self.colours: dict[tuple[str, int, int], ClothingColours | None] = {}
        for cid, gen, track, upper, lower in zip(*(table.column(n).to_pylist() for n in columns)):
            self.colours[(cid, gen, track)] = None if upper is None else ClothingColours(
                {c["name"]: c["share"] for c in upper}, {c["name"]: c["share"] for c in lower or []})

    def at(self, moment: Moment, track: int) -> Mapping[str, Offer | None]:
        return {ClothingColours.key: self.colours.get((moment.content_id, moment.generation, track))}


class ColoursFeature(Feature):
    """Clothing colours of a track, averaged over its keyframes, on the track row. The body
    regions come from the pose where one was estimated (refcli.features.pose)."""

    name: ClassVar[str] = "colours"
    offers: ClassVar[tuple[type[Offer], ...]] = (ClothingColours,)
    # null: a grayscale picture, colours unknown
    track_fields: ClassVar[tuple[pa.Field, ...]] = (pa.field("upper_colours", COLOUR_SHARES),
                                                    pa.field("lower_colours", COLOUR_SHARES))

    @classmethod
    def reader(cls, store: Store, wants: frozenset[str], tracks: pa.Table | None = None) -> ColoursReader:
        return ColoursReader(store, tracks)

    def start(self) -> dict[int, dict[str, dict[str, float]] | None]:
        return {}  # sample -> colours measured while its frame was whole

    def on_sample(self, state: dict[int, Any], track: TrackSoFar, sample: int, frame: HeldFrame, chosen: set[int],
                  whole: bool) -> None:
        """Frames kept after their sample are reduced to keyframe size unless ``whole``: measure the
        samples the track may keep now, so the result is the same. (Without pose the colours depend
        on the pixels and the box alone.)"""
        measure_keyframe_candidates(state, sample, chosen, whole,
                                    lambda: clothing_colours(frame.image, frame.box(track.boxes[-4:])))

    def finish(self, state: dict[int, Any], track: TrackSoFar, chosen: Chosen, frames: Mapping[int, HeldFrame],
               others: Mapping[str, Any]) -> Stored:
        from refcli.features.pose import body_regions_from_pose, in_frame, pose_at

        measured: list[dict[str, dict[str, float]] | None] = []
        for s, _ in chosen:
            if s in state:
                measured.append(state[s])
                continue
            if s not in frames:
                continue
            frame = frames[s]
            box = frame.box(track.box_at(s))
            pose = in_frame(pose_at(others.get("pose"), s), frame)
            regions = body_regions_from_pose(pose, box) if pose is not None else None
            measured.append(clothing_colours(frame.image, box, regions))
        averaged = average(measured)
        if averaged is None:
            return Stored({"upper_colours": None, "lower_colours": None})
        return Stored({f"{part}_colours": [{"name": n, "share": v} for n, v in averaged[part].items()]
                       for part in ("upper", "lower")})
