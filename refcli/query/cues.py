"""Pose and motion cues of a track at one frame, for referrers that judge them."""

from __future__ import annotations

from typing import Any

from refcli.features.motion import motion_cues
from refcli.query.frames import Frame
from refcli.store import Store

POSE_REACH_SECONDS = 0.75
"""A pose estimated this close in time describes a video frame (poses are taken every second)."""


class MomentCues:
    """Pose and motion cues of a track at one frame, loaded only when the query asks for them
    (``wants``: what the referrer reads, see ``Referrer.wants``)."""

    def __init__(self, store: Store, wants: frozenset[str]) -> None:
        self.wants = wants
        self.poses = store.contents.track_poses() if wants & {"pose", "keypoints"} else None
        self.posed: set[str] = set()
        if self.poses is not None:
            import json

            self.posed = {m.content_id for m in store.contents.media().values()
                          if "pose" in json.loads(m.signature or "{}")}
        # per track: where each sample's motion sits in its values, and the values
        self.motion = None if "motion" not in wants else {
            key: ({sample: k for k, sample in enumerate(samples)}, values)
            for key, (samples, values) in store.contents.track_motion().items()}

    def at(self, frame: Frame, track: int) -> dict[str, Any]:
        """The request features of ``track`` at ``frame``: "pose", "keypoints", "motion" as asked
        (None or {} where nothing was estimated near it; absent where the file was indexed without)."""
        out: dict[str, Any] = {}
        key = (frame.content_id, frame.generation, track)
        if self.poses is not None and frame.content_id in self.posed:
            pose = nearest_pose(self.poses.get(key, []), frame.time)
            if "pose" in self.wants:
                out["pose"] = pose["cues"] if pose else None
            if "keypoints" in self.wants:
                out["keypoints"] = pose["keypoints"] if pose else {}
        if self.motion is not None:
            positions, values = self.motion.get(key, ({}, []))
            if values is not None:  # None: indexed before motion was measured; the key stays absent
                k = positions.get(frame.sample)
                out["motion"] = None if k is None else motion_cues(*values[3 * k:3 * k + 3])
        return out


def nearest_pose(poses: list[tuple[float | None, dict[str, Any]]], time: float | None) -> dict[str, Any] | None:
    """The pose estimated nearest ``time`` (within POSE_REACH_SECONDS); a photo's one pose."""
    if time is None:  # a photo: its one pose
        return poses[0][1] if poses else None
    best = min(poses, key=lambda p: abs((p[0] or 0.0) - time), default=None)
    return best[1] if best is not None and abs((best[0] or 0.0) - time) <= POSE_REACH_SECONDS else None
