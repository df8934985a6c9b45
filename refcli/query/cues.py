"""What the per-person features offer a referrer about a track at one frame (pose, keypoints,
motion...), read once per query from each feature's stored rows (refcli.features)."""

from __future__ import annotations

from typing import Any

from refcli.features import readers
from refcli.query.frames import Frame
from refcli.store import Store


class MomentCues:
    """The features' values for a track at a frame, loaded only for what the query asks
    (``wants``: what the referrer reads, see ``Referrer.wants``)."""

    def __init__(self, store: Store, wants: frozenset[str]) -> None:
        self.readers = readers(store, wants)

    def at(self, frame: Frame, track: int) -> dict[str, Any]:
        """The request features of ``track`` at ``frame`` ("pose", "keypoints", "motion" as asked;
        None or {} where nothing was measured near it; absent where the file was indexed without)."""
        out: dict[str, Any] = {}
        for reader in self.readers:
            out.update(reader.at(frame, track))
        return out
