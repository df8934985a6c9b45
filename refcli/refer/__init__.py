"""Referrers: given an image's candidate people and an expression, choose the matching ones.

Multi-instance with rejection: a result may choose zero, one or many candidates. A backend
that cannot judge part of an expression lists that part in ``unsupported`` and chooses
nobody rather than guessing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt

from refcli.features import Measured
from refcli.registry import Registry

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["DEFAULT_REFERRER", "ReferRequest", "ReferResult", "Referrer", "TrackTerms", "create_referrer", "referrers"]


@dataclass(frozen=True)
class ReferRequest:
    """One image, its candidate boxes and the expression to resolve.

    Attributes:
        expression: the user's description, e.g. "the second person from the left".
        boxes: (N, 4) float32 xyxy candidate boxes in displayed pixels.
        scores: (N,) float32 detector confidences.
        size: (width, height) of the displayed image.
        image: (H, W, 3) uint8 RGB; always given to backends with ``needs_image``, given to the
            others when at hand (a benchmark run) so they can measure what was not stored.
        features: per candidate, what the features offer about that person at this frame
            (refcli.features.Measured: clothing colours, faces seen, pose and motion cues, body
            keypoints, each typed); None when nothing was stored (a photo given directly).
        objects: per object phrase of the expression, the boxes an object grounder found in this
            image with calibrated scores ([(xyxy, score), ...]); None when nothing was grounded.
    """

    expression: str
    boxes: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    size: tuple[int, int]
    image: npt.NDArray[np.uint8] | None = None
    features: Sequence[Measured] | None = None
    objects: Mapping[str, Sequence[tuple[Sequence[float], float]]] | None = None


@dataclass(frozen=True)
class ReferResult:
    """Chosen candidate indexes (into the request's boxes), a score for each, and what was not judged."""

    indexes: tuple[int, ...] = ()
    scores: tuple[float, ...] = ()
    unsupported: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())  # e.g. a model's answer that could not be parsed
    ignored: tuple[str, ...] = field(default=())  # dropped on request (--ignore-unsupported) for this image


@dataclass(frozen=True)
class TrackTerms:
    """What of an expression the stored values of a person's track decide (refcli.query.tracks).

    Attributes:
        alone: they decide all of it: nothing depends on the moment (a pose, a motion), on where
            the person stands or on anyone else in the frame, so a person matches at every
            sample of their track or at none, and the track can be judged once, without its frames.
        columns: the tracks-table columns ``narrow`` reads ("faces": each track's face
            embeddings, from the faces table: refcli.features.faces.with_faces).
        narrow: which of the given track rows may match: a superset, cheap and vectorised (the
            referrer still judges each of them); None when nothing rules a track out. Where the
            terms are not ``alone``, it holds for the person chosen in any frame, and keeps every
            track whose features the expression asks about were not measured: a frame where it
            keeps nobody chooses nobody and says nothing, and is not read (refcli.query.pushdown).
        exact: with ``alone``, ``narrow`` (or its absence: everyone) is exactly the referrer's
            choice, and nothing in the expression is left that it could not judge: the answer
            can be counted and ranked on the tracks table, and only the hits shown are judged.
    """

    alone: bool
    columns: tuple[str, ...] = ()
    narrow: Callable[[pa.Table], npt.NDArray[np.bool_]] | None = None
    exact: bool = False


class Referrer(ABC):
    """Resolves referring expressions against candidate boxes, in batches."""

    name: ClassVar[str]
    needs_image: ClassVar[bool] = False
    uses_grounder: ClassVar[bool] = False  # judges things an object grounder found (request.objects)

    @property
    def cache_id(self) -> str | None:
        """Names the model and its settings when answers are worth caching (slow models); None otherwise."""
        return None

    @abstractmethod
    def refer(self, requests: Sequence[ReferRequest]) -> list[ReferResult]:
        """One result per request, in order."""

    def unsupported(self, expression: str) -> tuple[str, ...]:
        """Parts of ``expression`` this backend cannot judge, known before looking at any image."""
        return ()

    def wants(self, expression: str) -> frozenset[str]:
        """Stored features this backend reads for ``expression`` (colours, faces, pose, motion,
        keypoints, and "objects" when it needs phrases grounded).

        Pose and motion cost a table read each, so they are loaded only for backends that ask.
        """
        return frozenset({"colours", "faces"})

    def object_phrases(self, expression: str) -> tuple[str, ...]:
        """The things of ``expression`` an object grounder must find ("microphone"), if it asks for them."""
        return ()

    def ignored(self, expression: str) -> tuple[str, ...]:
        """Parts of ``expression`` dropped because the caller asked to ignore what it cannot judge."""
        return ()

    def narrows(self, expression: str) -> bool:
        """Whether ``expression`` says something this backend judges cheaply that rules people out
        (a position, a colour, a name...): then its answers can spare a slower backend the frames
        where nobody matches. False unless a backend says so: "person" rules nobody out, and a
        backend that does not say is not asked to narrow."""
        return False

    def per_track(self, expression: str) -> TrackTerms | None:
        """What of ``expression`` a track's stored values decide, for answering from the tracks
        table instead of every frame; None (the default) when this backend does not say."""
        return None


referrers: Registry[Referrer] = Registry("referrer")
referrers.register("embedded", "refcli.refer.embedded:EmbeddedReferrer")
referrers.register("all-persons", "refcli.refer.baselines:AllPersonsReferrer")
referrers.register("vlm", "refcli.refer.vlm:VLMReferrer", extra="models")
referrers.register("rexseek", "refcli.refer.rexseek:RexSeekReferrer")

DEFAULT_REFERRER = "embedded"


def create_referrer(name: str = DEFAULT_REFERRER, **options: Any) -> Referrer:
    """Build the referrer registered under ``name`` with ``options`` (gallery, model...); an option
    it does not take is a UsageError. `refcli.query.backends` builds one from typed settings."""
    return referrers.create(name, **options)
