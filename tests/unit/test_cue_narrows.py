"""The vectorised tests on stored track rows that rule people out before their frames are read
(refcli.query.pushdown) keep exactly the tracks that some moment's reading names so: motion over
random and threshold-edge velocities, pose over the poses BlazePose measured on real photos."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pyarrow as pa
import pytest

from refcli.features.motion import CUE_NAMES as MOTION_CUES
from refcli.features.motion import DIRECTION_ABOVE, STILL_BELOW, motion_cues, shown_in_motion
from refcli.features.pose import CUE_NAMES as POSE_CUES
from refcli.features.pose import POSES_COLUMN, Pose, cues, shown_in_poses

VALUES = {"moving": ("still", "moving"), "horizontal": ("left", "right", "none"), "depth": ("towards", "away", "none")}


def _velocities(rng: random.Random) -> list[float]:
    edge = [STILL_BELOW, -STILL_BELOW, DIRECTION_ABOVE, -DIRECTION_ABOVE, 0.0, 2 * DIRECTION_ABOVE]
    vx = rng.choice([rng.uniform(-1, 1), rng.choice(edge), math.nan])
    vz = rng.choice([rng.uniform(-1, 1), rng.choice(edge), vx / 2, 2 * vx])
    if rng.random() < 0.2:  # a speed on the still threshold
        angle = rng.uniform(0, 2 * math.pi)
        vx, vz = STILL_BELOW * math.cos(angle), STILL_BELOW * math.sin(angle)
    return [vx, vz, rng.choice([0.5, 1.0, math.nan]) if rng.random() < 0.1 else 1.0]


def test_motion_narrow_keeps_the_tracks_a_moment_names() -> None:
    rng = random.Random(3)
    rows = [[v for _ in range(rng.randint(1, 4)) for v in _velocities(rng)] for _ in range(3000)]
    rows += [None]  # indexed before motion was measured
    tracks = pa.table({"motion": pa.array(rows, pa.list_(pa.float32()))})
    stored = tracks.column("motion").to_pylist()  # as float32 holds them
    for name in MOTION_CUES:
        for value in VALUES[name]:
            for negated in (False, True):
                kept = shown_in_motion(tracks, name, lambda v, x=value, n=negated: v != "unknown" and (v == x) != n)
                named = [values is None or any(
                    (cue := motion_cues(*values[k:k + 3])[name][0]) != "unknown" and (cue == value) != negated
                    for k in range(0, len(values), 3)) for values in stored]
                assert kept.tolist() == named, (name, value, negated)


@pytest.fixture(scope="module")
def poses(data_dir: Path) -> list[list[float]]:
    """The landmarks BlazePose measured on the people of real photos, and turned versions of them."""
    pytest.importorskip("mediapipe", reason="the pose extra is not installed")
    import numpy as np
    from PIL import Image

    from refcli.features.pose import PoseEstimator

    estimator, out = PoseEstimator(), []
    for name in ("messi5.jpg", "astronaut.jpg", "obama.jpg"):
        image = np.asarray(Image.open(data_dir / name).convert("RGB"))
        h, w = image.shape[:2]
        pose = estimator.estimate(image, [0, 0, w, h])
        if pose is not None:
            for turn in range(4):  # lying, upside down, mirrored: other readings of the same body
                xy = pose.xy.copy()
                if turn & 1:
                    xy = xy[:, ::-1]
                if turn & 2:
                    xy[:, 0] = -xy[:, 0]
                out.append(Pose(xy.astype(np.float32), pose.visibility).flat())
    assert out
    return out


def test_pose_narrow_keeps_the_tracks_a_pose_names(poses: list[list[float]]) -> None:
    rows = [poses[:1], poses[1:3], poses[3:], [], None]  # None: the content was indexed without pose
    tracks = pa.table({POSES_COLUMN: pa.array(rows, pa.list_(pa.list_(pa.float32())))})
    readings = [None if row is None else [cues(Pose.from_flat(p)) for p in row] for row in rows]
    seen = {name: {r[name][0] for row in readings if row for r in row} for name in POSE_CUES}
    for name in POSE_CUES:
        for value in seen[name] | {"unknown"}:
            kept = shown_in_poses(tracks, name, lambda v, x=value: v == x)
            assert kept.tolist() == [row is None or any(r[name][0] == value for r in row) for row in readings]
