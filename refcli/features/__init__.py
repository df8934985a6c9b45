"""Per-person features: each one module that measures people on tracks at index time and offers
what it measured to referrers at query time.

A feature is a ``Feature`` subclass registered here, in the order they measure (pose first:
colours read the body regions from it). The track builder, the pipeline signature, the Ray task
and `refcli doctor` iterate the registry; none of them names a feature. What a feature does on
a track:

- ``start`` makes its per-track state (any object), ``on_sample`` looks at each of the track's
  samples while the frame is whole (with ``whole_frames`` off, frames kept after that are
  reduced to keyframe size),
- ``finish`` runs when the track retires, on the keyframes it chose and the frames still held,
  and returns what it stores: fields of the track row and rows of its own tables,
- at query time ``reader`` reads what it stored and gives, per candidate at one moment, the
  typed values it ``offers`` a referrer (``Offer`` subclasses, gathered per candidate in a
  ``Measured``; named from the stored measurements then, so changing a threshold needs no
  re-index).

What it stores is declared with it: ``track_fields`` (columns of the tracks table) and
``tables`` (content tables of its own); refcli.store.schema builds the tables from them, and a
database that lacks a feature's table or column gets it (empty) when it is next opened for
writing, so a new feature needs no hand-written migration.

Opt-in features (``opt_in``) run only when the index asks for them (`--faces`, `--pose`); their
``version`` is part of the pipeline signature, so turning one on re-indexes. Core features are
covered by the pipeline revision (refcli.index.plan).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from refcli.registry import Registry

if TYPE_CHECKING:
    import pyarrow as pa

    from refcli.store import Store


@dataclass(frozen=True)
class HeldFrame:
    """A frame the builder holds: its pixels and their scale (pixels per displayed pixel)."""

    image: npt.NDArray[np.uint8]
    scale: float = 1.0

    def box(self, box: Sequence[float]) -> Sequence[float]:
        """A displayed-pixel box in this frame's pixels."""
        return box if self.scale == 1.0 else [float(v) * self.scale for v in box]


@dataclass
class TrackSoFar:
    """One track as the builder has followed it (boxes in displayed pixels of the original)."""

    content_id: str
    generation: int
    track: int
    samples: list[int] = field(default_factory=list)
    times: list[float | None] = field(default_factory=list)
    boxes: list[float] = field(default_factory=list)  # flattened xyxy per sample
    scores: list[float] = field(default_factory=list)

    def box_at(self, sample: int) -> list[float]:
        k = self.samples.index(sample)
        return self.boxes[4 * k:4 * k + 4]

    def time_at(self, sample: int) -> float | None:
        return self.times[self.samples.index(sample)]


Row = Mapping[str, object]
"""One row of a content table, as Arrow takes it (columns by name, per the table's schema)."""


@dataclass
class Stored:
    """What a feature stores for one track: fields of its track row, rows of its own tables."""

    track_fields: Mapping[str, object] = field(default_factory=dict)
    rows: Mapping[str, Sequence[Row]] = field(default_factory=dict)


class Offer:
    """A typed value a feature offers a referrer about one person at one moment (clothing
    colours, faces seen, pose cues...). ``key`` is the name a referrer asks for it by
    (``Referrer.wants``)."""

    key: ClassVar[str]

    def scaled(self, k: float) -> Offer:
        """This value for the same picture at ``k`` times its size (pixel positions scale)."""
        return self


OfferT = TypeVar("OfferT", bound=Offer)

Cue = tuple[str, float]
"""(value, confidence) of a named cue; value "unknown" where it could not be seen."""


@dataclass(frozen=True)
class Cues(Offer):
    """Named cues (posture, facing, moving...) of one person at one moment."""

    cues: Mapping[str, Cue]

    def get(self, name: str) -> Cue:
        return self.cues.get(name, ("unknown", 0.0))


@dataclass(frozen=True)
class Measured:
    """What the features offer about one candidate, by offer key: a value, None where the feature
    ran and has nothing to say (a grayscale picture, no pose near this moment), or absent where
    the content was indexed without the feature. Absent and None both mean unknown: never a
    match, negated or not; absent also tells a referrer to say what re-index would help."""

    values: Mapping[str, Offer | None] = field(default_factory=dict)

    def has(self, kind: type[Offer]) -> bool:
        """Whether the feature offering ``kind`` was measured here (its value may be None)."""
        return kind.key in self.values

    def get(self, kind: type[OfferT]) -> OfferT | None:
        value = self.values.get(kind.key)
        return value if isinstance(value, kind) else None

    def with_values(self, values: Mapping[str, Offer | None]) -> Measured:
        return Measured({**self.values, **values})

    def scaled(self, k: float) -> Measured:
        """These values for the same picture at ``k`` times its size."""
        return Measured({key: None if v is None else v.scaled(k) for key, v in self.values.items()})


Chosen = Sequence[tuple[int, float]]
"""A track's keyframes: (sample, time) pairs."""


class Moment(Protocol):
    """One sampled frame of an indexed content, as a query sees it (refcli.query.frames.Frame)."""

    @property
    def content_id(self) -> str: ...
    @property
    def generation(self) -> int: ...
    @property
    def sample(self) -> int: ...
    @property
    def time(self) -> float | None: ...


class FeatureReader(Protocol):
    """A feature's stored measurements, read once per query."""

    def at(self, moment: Moment, track: int) -> Mapping[str, Offer | None]:
        """The values offered for ``track`` at ``moment``, by offer key; a key is absent where
        the content was indexed without the feature, None where nothing was measured."""
        ...


class Feature:
    """One per-person feature. Subclasses set the class attributes and override what they use."""

    name: ClassVar[str]
    extra: ClassVar[str] = ""  # the optional dependency group it needs ("" = core)
    opt_in: ClassVar[bool] = False  # measured only when the index asks (refcli.config.IndexSettings)
    tables: ClassVar[Mapping[str, pa.Schema]] = {}  # content tables of its own, by name
    track_fields: ClassVar[tuple[pa.Field, ...]] = ()  # columns it adds to the tracks table
    whole_frames: ClassVar[bool] = False  # needs the held frames at working size until a track retires
    offers: ClassVar[tuple[type[Offer], ...]] = ()  # per-moment values it gives a referrer (Referrer.wants)

    @property
    def version(self) -> str | None:
        """Names its model and measurement: part of the pipeline signature (None: not part)."""
        return None

    def load(self) -> None:
        """Load the model now, so that a missing extra fails before any work."""

    def doctor(self) -> str:
        """One line for `refcli doctor`: ready, or what is missing."""
        return "ready"

    def start(self) -> Any:
        """The per-track state this feature keeps (None when it needs none)."""
        return None

    def on_sample(self, state: Any, track: TrackSoFar, sample: int, frame: HeldFrame, chosen: set[int],
                  whole: bool) -> None:
        """A new sample of ``track`` (the last in ``track.samples``) on its whole ``frame``;
        ``chosen``: the samples the track would keep as keyframes now; ``whole``: whether held
        frames stay whole until the track retires."""

    def finish(self, state: Any, track: TrackSoFar, chosen: Chosen, frames: Mapping[int, HeldFrame],
               others: Mapping[str, Any]) -> Stored:
        """What to store for the retiring ``track``; ``frames`` are the held frames of its samples
        (the chosen ones among them), ``others`` the states of the features before this one."""
        return Stored()

    @classmethod
    def reader(cls, store: Store, wants: frozenset[str], tracks: pa.Table | None = None) -> FeatureReader | None:
        """What it offers a referrer at query time, for the values in ``wants`` (None: nothing).
        ``tracks``: rows of the tracks table the caller read already (with the keys, ``samples``
        and ``track_columns``); a feature that reads the tracks table then knows only those."""
        return None


features: Registry[Feature] = Registry("feature")
# Opt-in features check their own extra in ``load`` (it is needed only when they are asked for).
features.register("pose", "refcli.features.pose:PoseFeature")
features.register("faces", "refcli.features.faces:FacesFeature")
features.register("colours", "refcli.features.colors:ColoursFeature")
features.register("appearance", "refcli.features.appearance:AppearanceFeature")
features.register("motion", "refcli.features.motion:MotionFeature")
features.register("traits", "refcli.features.face_traits:FaceTraitsFeature")


def measure_keyframe_candidates(state: dict[int, Any], sample: int, chosen: set[int], whole: bool,
                                measure: Callable[[], Any]) -> None:
    """For a feature that measures keyframes from pixels and the box alone: frames kept after
    their sample are reduced to keyframe size unless ``whole``, so measure the sample now if the
    track may keep it (``state``: sample -> measurement), and forget samples it no longer keeps."""
    if whole:
        return
    if sample in chosen:
        state[sample] = measure()
    for s in [s for s in state if s not in chosen]:
        del state[s]


def enabled(opted_in: Mapping[str, bool]) -> list[Feature]:
    """The features an index measures, in order: every core feature, and each opt-in one whose
    name ``opted_in`` sets (e.g. ``{"faces": True, "pose": False}``)."""
    out = []
    for name in features.registered():
        cls = features.load(name)
        if not cls.opt_in or opted_in.get(name):
            out.append(cls())
    return out


def _offering(wants: frozenset[str]) -> list[type[Feature]]:
    return [cls for cls in map(features.load, features.registered()) if {o.key for o in cls.offers} & wants]


def readers(store: Store, wants: frozenset[str], tracks: pa.Table | None = None) -> list[FeatureReader]:
    """The query-time readers of the features that offer something in ``wants`` (reading from
    ``tracks`` where given: see ``Feature.reader``)."""
    out = []
    for cls in _offering(wants):
        reader = cls.reader(store, wants, tracks)
        if reader is not None:
            out.append(reader)
    return out


def track_columns(wants: frozenset[str]) -> tuple[str, ...]:
    """The tracks-table columns the readers of ``wants`` read there."""
    return tuple(f.name for cls in _offering(wants) for f in cls.track_fields)


def stored_by_features() -> tuple[tuple[pa.Field, ...], dict[str, pa.Schema]]:
    """The tracks-table columns and the content tables every registered feature stores, in
    registry order (refcli.store.schema builds the tables from them)."""
    fields: list[pa.Field] = []
    tables: dict[str, pa.Schema] = {}
    for name in features.registered():
        cls = features.load(name)
        fields.extend(cls.track_fields)
        tables.update(cls.tables)
    return tuple(fields), tables


def signature_parts(measured: Sequence[Feature]) -> dict[str, str]:
    """The features' part of the pipeline signature: name -> version, for those with a version."""
    return {f.name: f.version for f in measured if f.version is not None}
