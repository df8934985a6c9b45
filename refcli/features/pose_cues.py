"""The cues read from body landmarks (posture, arms, hands, facing), over many poses at once.

A query names the cues of every stored pose it may look at (refcli.features.pose): each cue is
one numpy reading over a batch of poses, in float64, so a hundred thousand poses take
milliseconds where a loop of per-pose geometry took seconds. One pose is read as a batch of
one: there is one arithmetic for the reader, the narrowing before frames are read
(refcli.query.pushdown) and a benchmark run measuring an image.

Each cue comes with a confidence: the lowest visibility of the landmarks it uses. Below
``MIN_VISIBILITY`` a cue is "unknown", never a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MIN_VISIBILITY = 0.5

# BlazePose landmark indexes ("left" is the person's own left)
NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR, MOUTH_L, MOUTH_R = 0, 2, 5, 7, 8, 9, 10
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 11, 12, 13, 14, 15, 16
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 23, 24, 25, 26, 27, 28

CUE_NAMES = ("posture", "arms_raised", "hand_at_face", "arms_crossed", "facing")
"""The cues read here; the grammar's Cue names use the same words."""

Floats = npt.NDArray[np.float64]
Readings = tuple[npt.NDArray[np.str_], Floats]
"""Per pose of a batch: the cue's value ("unknown" where it could not be seen) and its confidence."""


@dataclass(frozen=True)
class Bodies:
    """A batch of poses: (N, 33, 2) xy in image pixels and (N, 33) visibility, in float64."""

    xy: Floats
    visibility: Floats

    @classmethod
    def of(cls, landmarks: npt.ArrayLike) -> Bodies:
        """From (N, 33, 3) landmarks (x, y, visibility), as stored flat per pose."""
        array = np.asarray(landmarks, np.float32).reshape(-1, 33, 3).astype(np.float64)
        return cls(array[:, :, :2], array[:, :, 2])

    @classmethod
    def of_pose(cls, xy: npt.ArrayLike, visibility: npt.ArrayLike) -> Bodies:
        """A batch of one pose: (33, 2) xy and (33,) visibility."""
        return cls(np.asarray(xy, np.float64)[None], np.asarray(visibility, np.float64)[None])

    def __len__(self) -> int:
        return len(self.xy)

    def seen(self, *indexes: int) -> Floats:
        return self.visibility[:, list(indexes)].min(axis=1)

    def at(self, index: int) -> Floats:
        return self.xy[:, index]

    def mid(self, a: int, b: int) -> Floats:
        return (self.xy[:, a] + self.xy[:, b]) / 2

    def torso(self) -> Floats:
        """Shoulders' middle to hips' middle, in pixels."""
        return _norm(self.mid(L_SHOULDER, R_SHOULDER) - self.mid(L_HIP, R_HIP))


def _norm(v: Floats) -> Floats:
    return np.sqrt((v * v).sum(axis=-1))


def _angle(a: Floats, b: Floats, c: Floats) -> Floats:
    """The angle at b (degrees) between b->a and b->c."""
    v1, v2 = a - b, c - b
    cos = (v1 * v2).sum(axis=-1) / (_norm(v1) * _norm(v2) + 1e-6)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _from_vertical(top: Floats, bottom: Floats) -> Floats:
    d = bottom - top
    return np.degrees(np.arctan2(np.abs(d[:, 0]), np.abs(d[:, 1]) + 1e-6))


def posture(b: Bodies) -> Readings:
    """standing / sitting / crouching / kneeling / lying from the torso, thigh and shin directions."""
    torso_seen = b.seen(L_SHOULDER, R_SHOULDER, L_HIP, R_HIP)
    shoulders, hips = b.mid(L_SHOULDER, R_SHOULDER), b.mid(L_HIP, R_HIP)
    torso = _norm(shoulders - hips) + 1e-6
    lying = _from_vertical(shoulders, hips) > 60
    votes, seens = [], []
    for hip, knee, ankle in ((L_HIP, L_KNEE, L_ANKLE), (R_HIP, R_KNEE, R_ANKLE)):
        h, k, a = b.at(hip), b.at(knee), b.at(ankle)
        knee_angle, thigh_tilt, shin_tilt = _angle(h, k, a), _from_vertical(h, k), _from_vertical(k, a)
        shin_drop = (a[:, 1] - k[:, 1]) / torso  # how far the foot is below the knee
        hip_height = (a[:, 1] - h[:, 1]) / torso  # how far the hips are above the foot
        seen = b.seen(hip, knee, ankle)
        votes.append(np.select(
            [seen < MIN_VISIBILITY,
             (shin_drop < 0.25) & (thigh_tilt < 40) & (shin_tilt > 55),  # knee down, the shin flat behind it
             # the knee folded tighter than a chair folds it, hips held above the feet (a seat
             # on the ground would put them level): a squat, a catcher's crouch
             (thigh_tilt > 50) & (knee_angle < 75) & (hip_height >= 0.3),
             (thigh_tilt > 50) & (knee_angle < 140),  # thigh forward, knee bent, foot down
             (knee_angle > 150) & (thigh_tilt < 30)],
            ["-", "kneeling", "crouching", "sitting", "standing"], "unknown"))
        seens.append(np.where(seen >= MIN_VISIBILITY, seen, -np.inf))
    left, right = votes
    # one leg seen: its vote; two that differ: the one that says something, else unknown
    value = np.select([left == "-", right == "-", left == right, left == "unknown", right == "unknown"],
                      [right, left, left, right, left], "unknown")
    no_legs = (left == "-") & (right == "-")
    legs_seen = np.maximum(*seens)
    reach = np.maximum(b.seen(L_KNEE, L_ANKLE), b.seen(R_KNEE, R_ANKLE))
    confidence = np.select([torso_seen < MIN_VISIBILITY, lying, no_legs],
                           [torso_seen, torso_seen, np.minimum(torso_seen, reach)], np.minimum(torso_seen, legs_seen))
    value = np.select([torso_seen < MIN_VISIBILITY, lying, no_legs], ["unknown", "lying", "unknown"], value)
    return value, confidence


def arms_raised(b: Bodies) -> Readings:
    """none / one / both: a wrist above its shoulder by a fifth of the torso."""
    seen = b.seen(L_SHOULDER, R_SHOULDER, L_WRIST, R_WRIST, L_HIP, R_HIP)
    torso = b.torso()
    raised = sum((b.at(w)[:, 1] < b.at(s)[:, 1] - 0.2 * torso).astype(np.int64)
                 for w, s in ((L_WRIST, L_SHOULDER), (R_WRIST, R_SHOULDER)))
    value = np.array(["none", "one", "both"])[raised]
    return np.where(seen < MIN_VISIBILITY, "unknown", value), seen


def hand_at_face(b: Bodies) -> Readings:
    """yes / no: a wrist within 0.6 shoulder widths of the mouth."""
    seen = np.maximum(b.seen(L_WRIST, MOUTH_L, MOUTH_R, L_SHOULDER, R_SHOULDER),
                      b.seen(R_WRIST, MOUTH_L, MOUTH_R, L_SHOULDER, R_SHOULDER))
    mouth = b.mid(MOUTH_L, MOUTH_R)
    width = _norm(b.at(L_SHOULDER) - b.at(R_SHOULDER)) + 1e-6
    near = np.zeros(len(b), np.bool_)
    for w in (L_WRIST, R_WRIST):
        near |= (b.visibility[:, w] >= MIN_VISIBILITY) & (_norm(b.at(w) - mouth) < 0.6 * width)
    return np.where(seen < MIN_VISIBILITY, "unknown", np.where(near, "yes", "no")), seen


def arms_crossed(b: Bodies) -> Readings:
    """yes / no: each wrist across the body's midline, between shoulders and hips."""
    seen = b.seen(L_SHOULDER, R_SHOULDER, L_WRIST, R_WRIST, L_HIP, R_HIP)
    shoulders, hips = b.mid(L_SHOULDER, R_SHOULDER), b.mid(L_HIP, R_HIP)
    mid_x = (shoulders[:, 0] + hips[:, 0]) / 2
    left_side = np.sign(b.at(L_SHOULDER)[:, 0] - mid_x)  # where the person's left is in the image
    top, bottom = shoulders[:, 1], hips[:, 1]
    crossed = np.ones(len(b), np.bool_)
    for w, side in ((L_WRIST, left_side), (R_WRIST, -left_side)):
        x, y = b.at(w)[:, 0], b.at(w)[:, 1]
        crossed &= (np.sign(x - mid_x) == -side) & (top < y) & (y < bottom)
    return np.where(seen < MIN_VISIBILITY, "unknown", np.where(crossed, "yes", "no")), seen


def facing(b: Bodies) -> Readings:
    """camera / away / left / right, from the shoulders' order and where the nose points."""
    shoulders_seen = b.seen(L_SHOULDER, R_SHOULDER, L_HIP, R_HIP)
    width = b.at(L_SHOULDER)[:, 0] - b.at(R_SHOULDER)[:, 0]  # > 0 when the chest faces us
    torso = b.torso() + 1e-6
    face_seen = b.seen(NOSE, LEFT_EYE, RIGHT_EYE)
    nose_seen = b.visibility[:, NOSE]
    side_on = np.abs(width) < 0.3 * torso
    direction = b.at(NOSE)[:, 0] - b.mid(L_SHOULDER, R_SHOULDER)[:, 0]
    unseen = [shoulders_seen < MIN_VISIBILITY, side_on & (nose_seen < MIN_VISIBILITY)]
    value = np.select([*unseen, side_on, width > 0],
                      ["unknown", "unknown", np.where(direction < 0, "left", "right"), "camera"], "away")
    confidence = np.select(
        [*unseen, side_on, width > 0],
        [shoulders_seen, nose_seen, np.minimum(shoulders_seen, nose_seen),
         np.where(face_seen >= MIN_VISIBILITY, shoulders_seen, shoulders_seen * 0.8)], shoulders_seen)
    return value, confidence


READINGS: dict[str, Callable[[Bodies], Readings]] = {
    "posture": posture, "arms_raised": arms_raised, "hand_at_face": hand_at_face, "arms_crossed": arms_crossed,
    "facing": facing}
"""Each cue's reading, by name (CUE_NAMES)."""


def read(bodies: Bodies, names: Sequence[str] = CUE_NAMES) -> dict[str, Readings]:
    """The cues ``names`` of every pose of the batch."""
    return {name: READINGS[name](bodies) for name in names}
