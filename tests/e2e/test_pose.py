"""Body pose and motion cues: the geometry on synthetic landmarks and tracks, BlazePose on real
photos, and `index --pose` / `find` end to end on real media."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from refcli.cli.app import app
from refcli.features import pose as body
from refcli.features import pose_cues
from refcli.features.motion import motion_cues, velocities
from refcli.io.image import load_image

runner = CliRunner()


def cli(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output + str(result.exception)
    return result


def skeleton(**points: tuple[float, float]) -> body.Pose:
    """A pose whose named landmarks are seen where given; every other landmark is unseen."""
    names = {"nose": body.NOSE, "l_eye": body.LEFT_EYE, "r_eye": body.RIGHT_EYE, "mouth_l": body.MOUTH_L,
             "mouth_r": body.MOUTH_R, "l_shoulder": body.L_SHOULDER, "r_shoulder": body.R_SHOULDER,
             "l_elbow": body.L_ELBOW, "r_elbow": body.R_ELBOW, "l_wrist": body.L_WRIST, "r_wrist": body.R_WRIST,
             "l_hip": body.L_HIP, "r_hip": body.R_HIP, "l_knee": body.L_KNEE, "r_knee": body.R_KNEE,
             "l_ankle": body.L_ANKLE, "r_ankle": body.R_ANKLE}
    xy = np.zeros((33, 2), np.float32)
    seen = np.zeros(33, np.float32)
    for name, point in points.items():
        xy[names[name]] = point
        seen[names[name]] = 0.95
    return body.Pose(xy, seen)


# A person 200 px tall facing the camera (their left shoulder on the picture's right).
HEAD = {"nose": (100, 20), "l_eye": (105, 15), "r_eye": (95, 15), "mouth_l": (104, 28), "mouth_r": (96, 28)}
TORSO = {"l_shoulder": (120, 50), "r_shoulder": (80, 50), "l_hip": (115, 110), "r_hip": (85, 110)}
ARMS_DOWN = {"l_elbow": (125, 80), "r_elbow": (75, 80), "l_wrist": (127, 108), "r_wrist": (73, 108)}
STANDING_LEGS = {"l_knee": (115, 155), "r_knee": (85, 155), "l_ankle": (115, 200), "r_ankle": (85, 200)}
SITTING_LEGS = {"l_knee": (150, 118), "r_knee": (145, 120), "l_ankle": (152, 165), "r_ankle": (147, 166)}
KNEELING_LEGS = {"l_knee": (117, 160), "r_knee": (87, 160), "l_ankle": (60, 168), "r_ankle": (30, 168)}
CROUCHING_LEGS = {"l_knee": (150, 125), "r_knee": (145, 127), "l_ankle": (120, 150), "r_ankle": (115, 151)}


@pytest.mark.parametrize(("legs", "expected"), [
    (STANDING_LEGS, "standing"), (SITTING_LEGS, "sitting"), (KNEELING_LEGS, "kneeling"),
    (CROUCHING_LEGS, "crouching"), ({}, "unknown")])
def test_posture_from_the_legs(legs: dict, expected: str) -> None:
    value, confidence = body.posture(skeleton(**HEAD, **TORSO, **ARMS_DOWN, **legs))
    assert value == expected
    assert confidence > 0.5 or expected == "unknown"


def test_lying_is_a_horizontal_torso() -> None:
    lying = {"l_shoulder": (50, 100), "r_shoulder": (50, 130), "l_hip": (120, 102), "r_hip": (120, 128)}
    assert body.posture(skeleton(**lying))[0] == "lying"


def test_arm_and_hand_cues() -> None:
    both_up = {**ARMS_DOWN, "l_wrist": (130, 0), "r_wrist": (70, 0)}
    one_up = {**ARMS_DOWN, "l_wrist": (130, 0)}
    at_mouth = {**ARMS_DOWN, "r_wrist": (98, 32)}
    crossed = {**ARMS_DOWN, "l_wrist": (88, 85), "r_wrist": (112, 85)}
    assert body.arms_raised(skeleton(**HEAD, **TORSO, **both_up))[0] == "both"
    assert body.arms_raised(skeleton(**HEAD, **TORSO, **one_up))[0] == "one"
    assert body.arms_raised(skeleton(**HEAD, **TORSO, **ARMS_DOWN))[0] == "none"
    assert body.hand_at_face(skeleton(**HEAD, **TORSO, **at_mouth))[0] == "yes"
    assert body.hand_at_face(skeleton(**HEAD, **TORSO, **ARMS_DOWN))[0] == "no"
    assert body.arms_crossed(skeleton(**HEAD, **TORSO, **crossed))[0] == "yes"
    assert body.arms_crossed(skeleton(**HEAD, **TORSO, **ARMS_DOWN))[0] == "no"
    # wrists not seen: unknown, never "no"
    assert body.arms_raised(skeleton(**HEAD, **TORSO))[0] == "unknown"
    assert body.arms_crossed(skeleton(**HEAD, **TORSO))[0] == "unknown"


def test_facing() -> None:
    assert body.facing(skeleton(**HEAD, **TORSO))[0] == "camera"
    back = {"l_shoulder": (80, 50), "r_shoulder": (120, 50), "l_hip": (85, 110), "r_hip": (115, 110)}
    assert body.facing(skeleton(**back))[0] == "away"
    side = {"l_shoulder": (102, 50), "r_shoulder": (98, 50), "l_hip": (101, 110), "r_hip": (99, 110)}
    assert body.facing(skeleton(**side, nose=(80, 20)))[0] == "left"
    assert body.facing(skeleton(**side, nose=(120, 20)))[0] == "right"
    assert body.facing(skeleton(**side))[0] == "unknown"  # side on, and the nose is not seen


def test_pose_regions_follow_the_body() -> None:
    pose = skeleton(**HEAD, **TORSO, **ARMS_DOWN, **STANDING_LEGS)
    regions = body.body_regions_from_pose(pose, [60, 0, 140, 205])
    assert regions is not None
    upper, lower = regions["upper"], regions["lower"]
    assert 50 <= upper[1] < upper[3] <= 110  # shoulders to hips
    assert 110 <= lower[1] < lower[3] <= 205  # hips to ankles
    assert body.body_regions_from_pose(skeleton(**HEAD), [60, 0, 140, 205]) is None


def walker(dx: float, dh: float, seconds: float = 4.0, fps: float = 2.0) -> tuple[list[float], list[float]]:
    """A 100 px person moving dx px/s sideways and growing dh px/s, bottom fixed at y=300 + growth."""
    times = [i / fps for i in range(int(seconds * fps) + 1)]
    boxes: list[float] = []
    for t in times:
        h = 100 + dh * t
        x = 200 + dx * t
        boxes += [x, 300 + dh * t - h, x + 40, 300 + dh * t]
    return times, boxes


@pytest.mark.parametrize(("dx", "dh", "expected"), [
    (60, 0, {"moving": "moving", "horizontal": "right", "depth": "none"}),
    (-60, 0, {"moving": "moving", "horizontal": "left", "depth": "none"}),
    (0, 20, {"moving": "moving", "horizontal": "none", "depth": "towards"}),
    (0, -15, {"moving": "moving", "horizontal": "none", "depth": "away"}),
    (60, 25, {"moving": "moving", "horizontal": "right", "depth": "towards"}),
    (2, 0, {"moving": "still", "horizontal": "none", "depth": "none"}),
])
def test_motion_of_a_track(dx: float, dh: float, expected: dict) -> None:
    times, boxes = walker(dx, dh)
    values = velocities(times, boxes)
    k = len(times) // 2
    assert {name: value for name, (value, _) in motion_cues(*values[3 * k:3 * k + 3]).items()} == expected


def test_motion_is_unknown_without_time_or_samples() -> None:
    assert all(math.isnan(v) for v in velocities([None], [0, 0, 10, 10]))
    assert all(math.isnan(v) for v in velocities([0.0], [0, 0, 10, 10]))
    cues = motion_cues(*velocities([0.0, 0.1], [0, 0, 10, 10, 5, 0, 15, 10])[:3])  # 0.1 s: too short to tell
    assert {value for value, _ in cues.values()} == {"unknown"}


@pytest.fixture(scope="module")
def estimator() -> body.PoseEstimator:
    return body.PoseEstimator()


def test_blazepose_on_real_photos(estimator: body.PoseEstimator, data_dir: Path) -> None:
    """Checked by eye: Obama and Biden stand with arms crossed, the cameraman's hand is at his
    face, Messi stretches one arm up as he shoots; every portrait faces the camera."""
    def cues(name: str, box: list[int]) -> dict:
        found = estimator.estimate(load_image(str(data_dir / name)), box)
        assert found is not None
        return {k: v for k, (v, _) in body.cues(found).items()}

    obama = cues("obama3.jpg", [92, 92, 527, 995])
    assert obama["arms_crossed"] == "yes" and obama["facing"] == "camera" and obama["arms_raised"] == "none"
    assert obama["posture"] == "unknown"  # the legs are out of the picture: no guess
    assert cues("biden.jpg", [4, 20, 440, 992])["arms_crossed"] == "yes"
    assert cues("camera.png", [1, 67, 301, 512])["hand_at_face"] == "yes"
    messi = cues("messi5.jpg", [83, 65, 446, 327])
    assert messi["arms_raised"] == "one" and messi["arms_crossed"] == "no"


def test_small_people_get_no_pose(estimator: body.PoseEstimator, data_dir: Path) -> None:
    image = load_image(str(data_dir / "obama3.jpg"))
    assert estimator.estimate(image, [100, 100, 130, 100 + body.MIN_HEIGHT - 1]) is None


@pytest.fixture(scope="module")
def posed_db(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[str, Path]:
    root = tmp_path_factory.mktemp("media")
    for name in ("obama3.jpg", "biden.jpg", "camera.png", "messi5.jpg", "vtest_4s.mp4"):
        shutil.copy(data_dir / name, root / name)
    db = str(tmp_path_factory.mktemp("db") / "db")
    return db, root


def find(db: str, query: str) -> dict:
    return json.loads(cli("find", query, "--db", db, "--json").stdout)


def test_pose_queries_need_index_with_pose(posed_db: tuple[str, Path]) -> None:
    db, root = posed_db
    cli("index", str(root), "--db", db)
    found = find(db, "the person with arms crossed")
    assert found["hits"] == [] and "refcli index --pose" in found["unsupported"][0]
    # motion needs no pose: it comes from the tracks
    walking = find(db, "people walking to the left")
    assert walking["hits"] and all(h["kind"] == "video" for h in walking["hits"])

    summary = json.loads(cli("index", str(root), "--db", db, "--pose", "--json").stdout)
    assert summary["updated"] == 5  # the pose model is part of what was indexed: everything again
    crossed = find(db, "the person with arms crossed")
    assert sorted(Path(h["path"]).name for h in crossed["hits"]) == ["biden.jpg", "obama3.jpg"]
    assert [Path(h["path"]).name for h in find(db, "the person with a hand at his face")["hits"]
            if h["kind"] == "image"] == ["camera.png"]
    assert find(db, "the person kneeling")["hits"] == []  # nobody kneels; the portraits' legs are unknown
    not_crossed = {Path(h["path"]).name for h in find(db, "people whose arms are not crossed")["hits"]}
    assert not_crossed.isdisjoint({"biden.jpg", "obama3.jpg"}) and "messi5.jpg" in not_crossed


def test_motion_hits_cover_the_moments_it_holds(posed_db: tuple[str, Path]) -> None:
    """In vtest_4s.mp4 (checked by eye) the man in the blue jacket walks left the whole time."""
    db, root = posed_db
    cli("index", str(root), "--db", db, "--pose")
    left = find(db, "people walking to the left")["hits"]
    right = find(db, "people walking to the right")["hits"]
    assert left and right
    for hit in left + right:
        assert hit["start"] is not None and hit["start"] <= hit["time"] <= hit["end"]
    left_tracks = {(h["track"], h["start"]) for h in left}
    right_tracks = {(h["track"], h["start"]) for h in right}
    assert left_tracks.isdisjoint(right_tracks)
    # the blue jacket (people.json: x 683-727 at 0 s, 446-483 at 2 s) walks left the whole time
    assert any(h["start"] == 0.0 and h["end"] >= 3.0 and 400 < h["box"][0] < 500 and h["box"][1] > 200 for h in left)
    still = find(db, "people standing still")
    assert all(h["kind"] == "video" for h in still["hits"])
    both = find(db, "the person on the right walking to the left")["hits"]
    assert both  # moments within the walking-left moments, where that walker is also on the right
    assert all(any(w["track"] == h["track"] and w["start"] <= h["start"] <= h["end"] <= w["end"] for w in left)
               for h in both)


def test_pose_cues_are_named_at_query_time(posed_db: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Cues are read from the stored landmarks when a query runs: a threshold changed after
    indexing changes the answer with no re-index (here: no landmark is seen well enough)."""
    db, root = posed_db
    cli("index", str(root), "--db", db, "--pose")
    crossed = sorted(Path(h["path"]).name for h in find(db, "the person with arms crossed")["hits"])
    assert crossed == ["biden.jpg", "obama3.jpg"]
    monkeypatch.setattr(pose_cues, "MIN_VISIBILITY", 1.01)  # where the cues read it
    assert find(db, "the person with arms crossed")["hits"] == []
    assert find(db, "people whose arms are not crossed")["hits"] == []  # unknown never matches, negated or not
    monkeypatch.undo()
    assert sorted(Path(h["path"]).name for h in find(db, "the person with arms crossed")["hits"]) == crossed


def test_index_with_pose_without_the_extra_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                               data_dir: Path) -> None:
    monkeypatch.setattr(body, "available", lambda: False)
    result = runner.invoke(app, ["index", str(data_dir / "messi5.jpg"), "--db", str(tmp_path / "db"), "--pose"])
    assert result.exit_code != 0
    assert "refcli[pose]" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
