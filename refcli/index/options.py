"""What a `refcli index` run is asked to do and what it reports: shared by every executor."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from refcli.config import IndexSettings, resolve
from refcli.defaults import DEFAULT_FPS, DEFAULT_REUSE_STILL
from refcli.detect import DEFAULT_DETECTOR
from refcli.executors import RayOptions

if TYPE_CHECKING:
    from refcli.detect import Detector
    from refcli.features import Feature
    from refcli.store import Store

ProgressFactory = Callable[..., Any]
"""Makes a progress bar (tqdm's signature); None anywhere means no bar."""


@dataclass(frozen=True)
class IndexOptions:
    fps: float = DEFAULT_FPS
    detector: str = DEFAULT_DETECTOR
    decoder: str = "auto"
    batch_size: int = 8
    include_hidden: bool = False
    detector_threads: int | None = None
    tracking: bool = True  # off: every detection is its own one-frame track (benchmarks)
    keyframes: bool = True  # off: no keyframe JPEGs (benchmarks)
    faces: bool = False  # opt-in: face embeddings of tracks, for named people
    pose: bool = False  # opt-in: body pose of tracks (refcli[pose]), for posture and gesture cues
    reuse_still: bool = DEFAULT_REUSE_STILL  # video samples where nothing moved reuse the last boxes
    settle_seconds: float = 0.0  # files modified more recently are left for the next run
    detector_model: str | None = None  # for model detectors (hf): folder or known name
    device: str = "auto"
    ray: RayOptions | None = None  # run on Ray (refcli.executors.ray_cluster); None: in this process

    @property
    def settings(self) -> IndexSettings:
        """The part of these options that decides what is stored (saved in the database)."""
        return IndexSettings(fps=self.fps, detector=self.detector, detector_model=self.detector_model,
                             faces=self.faces, pose=self.pose, reuse_still=self.reuse_still)

    @classmethod
    def resolved(cls, store: Store, *, fps: float | None, detector: str | None, detector_model: str | None,
                 faces: bool | None, pose: bool | None, reuse_still: bool | None = None,
                 **runtime: Any) -> IndexOptions:
        """Options for a run on ``store`` (`index`, `scan`): each setting as given (None: not given),
        else as the database saved it, else the default (refcli.config)."""
        return cls.of(resolve(store.index_settings(), fps=fps, detector=detector, detector_model=detector_model,
                              faces=faces, pose=pose, reuse_still=reuse_still), **runtime)

    @classmethod
    def of(cls, settings: IndexSettings, **runtime: Any) -> IndexOptions:
        """Options that index with ``settings``; ``runtime`` sets the rest (threads, decoder, ...)."""
        return cls(fps=settings.fps, detector=settings.detector, detector_model=settings.detector_model,
                   faces=settings.faces, pose=settings.pose, reuse_still=settings.reuse_still, **runtime)


@dataclass
class Problem:
    path: str
    reason: str


@dataclass
class IndexSummary:
    db: str
    new: int = 0
    updated: int = 0
    linked: int = 0
    unchanged: int = 0
    failed: int = 0
    settling: int = 0  # modified too recently: left for the next run
    gone: int = 0  # no longer on disk: marked gone (purged by `refcli prune`)
    frames: int = 0
    reused: int = 0  # of the frames, those that reused the last detected boxes (nothing moved)
    people: int = 0  # person tracks (a photo's people are one-frame tracks)
    detections: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    failures: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    content_ids: list[str] = field(default_factory=list)  # contents indexed or linked by this run
    settings: IndexSettings | None = None  # what this run indexed with (saved in the database)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["content_ids"]
        return out


def default_threads() -> int:
    """Detector threads: leave one core to the decoding thread (2-core machines get 1)."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


@dataclass
class IndexContext:
    """Everything an executor needs for one run; it reports into ``summary``."""

    store: Store
    detector: Detector
    options: IndexOptions
    signatures: dict[str, str]  # pipeline signature per kind ("image", "video")
    summary: IndexSummary
    progress: ProgressFactory | None = None
    features: list[Feature] = field(default_factory=list)  # what is measured on tracks, loaded
