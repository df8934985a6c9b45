"""What the per-person features offer a referrer about a track at one frame (colours, faces,
pose, motion...), read once per query from each feature's stored rows (refcli.features)."""

from __future__ import annotations

from refcli.features import Measured, Offer, readers
from refcli.query.frames import Frame
from refcli.store import Store


class MomentCues:
    """The features' values for a track at a frame, loaded only for what the query asks
    (``wants``: what the referrer reads, see ``Referrer.wants``)."""

    def __init__(self, store: Store, wants: frozenset[str]) -> None:
        self.readers = readers(store, wants)

    def at(self, frame: Frame, track: int) -> Measured:
        """What the features offer about ``track`` at ``frame`` (see ``Measured``)."""
        values: dict[str, Offer | None] = {}
        for reader in self.readers:
            values.update(reader.at(frame, track))
        return Measured(values)
