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
  values it ``offers`` a referrer (named from the stored measurements then, so changing a
  threshold needs no re-index).

Opt-in features (``opt_in``) run only when the index asks for them (`--faces`, `--pose`); their
``version`` is part of the pipeline signature, so turning one on re-indexes. Core features are
covered by the pipeline revision (refcli.index.plan).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np
import numpy.typing as npt

from refcli.registry import Registry

if TYPE_CHECKING:
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


@dataclass
class Stored:
    """What a feature stores for one track: fields of its track row, rows of its own tables."""

    track_fields: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


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

    def at(self, moment: Moment, track: int) -> dict[str, Any]:
        """The values offered for ``track`` at ``moment``, by name; a name is absent where the
        content was indexed without the feature, None (or empty) where nothing was measured."""
        ...


class Feature:
    """One per-person feature. Subclasses set the class attributes and override what they use."""

    name: ClassVar[str]
    extra: ClassVar[str] = ""  # the optional dependency group it needs ("" = core)
    opt_in: ClassVar[bool] = False  # measured only when the index asks (refcli.config.IndexSettings)
    tables: ClassVar[tuple[str, ...]] = ()  # content tables of its own (schemas: refcli.store.schema)
    whole_frames: ClassVar[bool] = False  # needs the held frames at working size until a track retires
    offers: ClassVar[tuple[str, ...]] = ()  # per-moment values it gives a referrer (see Referrer.wants)

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
    def reader(cls, store: Store, wants: frozenset[str]) -> FeatureReader | None:
        """What it offers a referrer at query time, for the values in ``wants`` (None: nothing)."""
        return None


features: Registry[Feature] = Registry("feature")
# Opt-in features check their own extra in ``load`` (it is needed only when they are asked for).
features.register("pose", "refcli.features.pose:PoseFeature")
features.register("faces", "refcli.features.faces:FacesFeature")
features.register("colours", "refcli.features.colors:ColoursFeature")
features.register("motion", "refcli.features.motion:MotionFeature")


def enabled(opted_in: Mapping[str, bool]) -> list[Feature]:
    """The features an index measures, in order: every core feature, and each opt-in one whose
    name ``opted_in`` sets (e.g. ``{"faces": True, "pose": False}``)."""
    out = []
    for name in features.registered():
        cls = features.load(name)
        if not cls.opt_in or opted_in.get(name):
            out.append(cls())
    return out


def readers(store: Store, wants: frozenset[str]) -> list[FeatureReader]:
    """The query-time readers of the features that offer something in ``wants``."""
    out = []
    for name in features.registered():
        cls = features.load(name)
        if set(cls.offers) & wants:
            reader = cls.reader(store, wants)
            if reader is not None:
                out.append(reader)
    return out


def signature_parts(measured: Sequence[Feature]) -> dict[str, str]:
    """The features' part of the pipeline signature: name -> version, for those with a version."""
    return {f.name: f.version for f in measured if f.version is not None}
