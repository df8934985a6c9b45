"""Face embeddings for named people (a user's own gallery), with dlib's published model.

dlib's ResNet face recognition model (from the registry packages ``dlib-bin`` and
``face-recognition-models``; no download) maps a face to 128 numbers; two faces are the same
person when their Euclidean distance is below 0.6, the threshold dlib publishes with its
99.38% LFW accuracy. Opt-in: nothing here runs unless faces are enabled.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from refcli.errors import MissingExtraError
from refcli.features import Chosen, Feature, HeldFrame, Moment, Offer, Stored, TrackSoFar

if TYPE_CHECKING:
    from refcli.store import Store

SAME_PERSON_DISTANCE = 0.6
MODEL_VERSION = "dlib-resnet-v1-hog-5pt"


def _model_file(name: str) -> str:
    # face_recognition_models imports pkg_resources, which recent setuptools no longer has:
    # find its data files without importing it.
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("face recognition", "faces")
    path = os.path.join(list(spec.submodule_search_locations)[0], "models", name)
    if not os.path.exists(path):
        raise MissingExtraError(f"face model {name}", "faces")
    return path


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # xyxy in the image's pixels
    embedding: npt.NDArray[np.float32]  # (128,)


class FaceEncoder:
    """HOG face detector + 5-point alignment + ResNet embedding (dlib), loaded on first use."""

    version = MODEL_VERSION

    @cached_property
    def _models(self) -> tuple[Any, Any, Any]:
        try:
            import dlib
        except ImportError:
            raise MissingExtraError("face recognition", "faces") from None
        return (dlib.get_frontal_face_detector(),
                dlib.shape_predictor(_model_file("shape_predictor_5_face_landmarks.dat")),
                dlib.face_recognition_model_v1(_model_file("dlib_face_recognition_resnet_model_v1.dat")))

    def faces(self, image: npt.NDArray[np.uint8], region: tuple[float, float, float, float] | None = None,
              min_face: int = 40) -> list[Face]:
        """Faces inside ``region`` (default: the whole image), largest first.

        Small regions are upsampled so that faces down to ~20 px are found (HOG needs ~80 px).
        """

        detector, shapes, encoder = self._models
        h, w = image.shape[:2]
        x1, y1, x2, y2 = (0, 0, w, h) if region is None else (
            max(0, int(region[0])), max(0, int(region[1])), min(w, int(region[2])), min(h, int(region[3])))
        crop = np.ascontiguousarray(image[y1:y2, x1:x2])
        if crop.shape[0] < 20 or crop.shape[1] < 20:
            return []
        upsample = 0 if min(crop.shape[:2]) >= 4 * min_face else 1 if min(crop.shape[:2]) >= min_face else 2
        found = []
        for rect in detector(crop, upsample):
            shape = shapes(crop, rect)
            vector = np.asarray(encoder.compute_face_descriptor(crop, shape), np.float32)
            box = (float(rect.left() + x1), float(rect.top() + y1), float(rect.right() + x1), float(rect.bottom() + y1))
            found.append(Face(box, vector))
        found.sort(key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
        return found

    def person_faces(self, image: npt.NDArray[np.uint8], box: npt.ArrayLike) -> list[Face]:
        """Faces in the head region of a person box (its top 45%, a little wider)."""
        x1, y1, x2, y2 = (float(v) for v in np.asarray(box).tolist())
        w, h = x2 - x1, y2 - y1
        if h < 60:  # a face would be under ~12 px: nothing to recognise
            return []
        head = (x1 - 0.1 * w, y1 - 0.05 * h, x2 + 0.1 * w, y1 + 0.45 * h)
        return self.faces(image, head, min_face=int(max(20, 0.12 * h)))


def distance(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


@dataclass(frozen=True)
class SeenFaces(Offer):
    """The face embeddings found on a person's track (none: no face was seen)."""

    key: ClassVar[str] = "faces"
    embeddings: Sequence[npt.ArrayLike] = ()

    def match(self, known: Sequence[npt.ArrayLike]) -> bool:
        """Whether one of these faces is the same person as one of ``known``."""
        return any(distance(face, k) < SAME_PERSON_DISTANCE for face in self.embeddings for k in known)


# Face embeddings of tracks (only when indexing with --faces); `refcli faces forget` empties it.
FACES = pa.schema([
    ("content_id", pa.string()),
    ("generation", pa.int64()),
    ("track", pa.int32()),
    ("sample", pa.int32()),
    ("box", pa.list_(pa.float32())),
    ("embedding", pa.list_(pa.float32())),
])


def faces_indexed(store: Store) -> bool:
    """Whether faces were measured while indexing (`index --faces`): the faces table holds rows."""
    return store.contents.count("faces") > 0


FACES_COLUMN = "faces"
"""The column ``with_faces`` adds to track rows: each track's face embeddings."""


def with_faces(store: Store, tracks: pa.Table) -> pa.Table:
    """Track rows with their face embeddings (FACES_COLUMN, empty where none was seen), read from
    the faces table in one scan."""
    import pyarrow.compute as pc

    keys = ["generation", "track"]  # a generation is one content's: no string join
    faces = store.contents.read("faces", [*keys, "embedding"])
    from refcli.store.content import grouped_rows

    offsets, of_face = grouped_rows(tracks, faces, keys)  # by track, then in the faces table's order
    column = faces.column("embedding").combine_chunks()
    lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
    if len(lengths) and (lengths == lengths[0]).all():  # every descriptor of one size: taken in numpy
        flat = pc.list_flatten(column).to_numpy(zero_copy_only=False).reshape(len(lengths), -1)
        taken = flat[of_face.to_numpy()]
        embeddings = pa.ListArray.from_arrays(pa.array(np.arange(len(taken) + 1, dtype=np.int32) * taken.shape[1]),
                                              pa.array(taken.ravel()))
    else:
        embeddings = column.take(of_face)
    return tracks.append_column(FACES_COLUMN, pa.ListArray.from_arrays(offsets, embeddings))


def may_be_named(tracks: pa.Table, known: Sequence[npt.ArrayLike]) -> npt.NDArray[np.bool_]:
    """Per track row (with FACES_COLUMN), whether one of its faces may be one of ``known``: a
    vectorised superset of ``SeenFaces.match`` (a hair wider than its threshold, so that the
    two ways of rounding never leave out a match)."""
    import pyarrow.compute as pc

    out = np.zeros(tracks.num_rows, np.bool_)
    column = tracks.column(FACES_COLUMN).combine_chunks()
    flat = pc.list_flatten(column)
    if not len(flat) or not len(known):
        return out
    embeddings = pc.list_flatten(flat).to_numpy(zero_copy_only=False).reshape(len(flat), -1).astype(np.float32)
    gallery = np.stack([np.asarray(k, np.float32) for k in known])
    # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b: one (faces x gallery) matrix, not (faces x gallery x 128);
    # in float32, whose error (~1e-6 here) the margin below covers a thousand times over
    squared = (np.einsum("ij,ij->i", embeddings, embeddings)[:, None] + np.einsum("ij,ij->i", gallery, gallery)[None, :]
               - 2 * embeddings @ gallery.T)
    nearest = np.sqrt(np.clip(np.min(squared, axis=1), 0, None))
    rows = pc.list_parent_indices(column).to_numpy()
    out[rows[nearest < SAME_PERSON_DISTANCE + 1e-3]] = True
    return out


class FacesReader:
    """The stored faces of every track, or of the given track rows when they hold their faces
    (``with_faces``). Once any file was indexed with faces, a track with none stored saw none (an
    empty SeenFaces); before that, faces are not offered at all."""

    def __init__(self, store: Store, tracks: pa.Table | None = None) -> None:
        self.indexed = faces_indexed(store)
        self.faces: dict[tuple[str, int, int], list[Any]] = {}
        if self.indexed and tracks is not None and FACES_COLUMN in tracks.column_names:
            columns = ["content_id", "generation", "track", FACES_COLUMN]
            for cid, gen, track, embeddings in zip(*(tracks.column(n).to_pylist() for n in columns)):
                self.faces[(cid, gen, track)] = embeddings
        elif self.indexed:
            columns = ["content_id", "generation", "track", "embedding"]
            table = store.contents.read("faces", columns)
            for cid, gen, track, embedding in zip(*(table.column(n).to_pylist() for n in columns)):
                self.faces.setdefault((cid, gen, track), []).append(embedding)

    def at(self, moment: Moment, track: int) -> Mapping[str, Offer | None]:
        if not self.indexed:
            return {}
        return {SeenFaces.key: SeenFaces(tuple(self.faces.get((moment.content_id, moment.generation, track), ())))}


class FacesFeature(Feature):
    """Face embeddings (opt-in: `refcli index --faces`): one face per track keyframe, in the
    ``faces`` table, matched against the gallery at query time."""

    name: ClassVar[str] = "faces"
    extra: ClassVar[str] = "faces"
    opt_in: ClassVar[bool] = True
    tables: ClassVar[Mapping[str, pa.Schema]] = {"faces": FACES}
    whole_frames: ClassVar[bool] = True
    offers: ClassVar[tuple[type[Offer], ...]] = (SeenFaces,)

    @classmethod
    def reader(cls, store: Store, wants: frozenset[str], tracks: pa.Table | None = None) -> FacesReader:
        return FacesReader(store, tracks)

    def __init__(self, encoder: FaceEncoder | None = None) -> None:
        self.encoder = encoder or FaceEncoder()

    @property
    def version(self) -> str:
        return MODEL_VERSION

    def load(self) -> None:
        self.encoder.faces(np.zeros((64, 64, 3), np.uint8))

    def doctor(self) -> str:
        if importlib.util.find_spec("dlib") is not None:
            return f"ready: {MODEL_VERSION} (refcli index --faces, refcli faces add)"
        return "missing: pip install 'refcli[faces]' (named people need it)"

    def finish(self, state: None, track: TrackSoFar, chosen: Chosen, frames: Mapping[int, HeldFrame],
               others: Mapping[str, Any]) -> Stored:
        rows = []
        for sample, _ in chosen:
            if sample not in frames:
                continue
            frame = frames[sample]
            for face in self.encoder.person_faces(frame.image, frame.box(track.box_at(sample)))[:1]:
                box = list(face.box) if frame.scale == 1.0 else [v / frame.scale for v in face.box]
                rows.append({"content_id": track.content_id, "generation": track.generation, "track": track.track,
                             "sample": sample, "box": box, "embedding": face.embedding.tolist()})
        return Stored(rows={"faces": rows})
