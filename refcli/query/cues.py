"""What the per-person features offer a referrer about a track at one frame (colours, faces,
pose, motion...), read once per query from each feature's stored rows (refcli.features)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from refcli.features import Measured, Moment, Offer, readers
from refcli.store import Store

if TYPE_CHECKING:
    import pyarrow as pa


class MomentCues:
    """The features' values for a track at a frame, loaded only for what the query asks
    (``wants``: what the referrer reads, see ``Referrer.wants``); of the given ``tracks`` rows
    only, where the caller read them (refcli.features.readers)."""

    def __init__(self, store: Store, wants: frozenset[str], tracks: pa.Table | None = None) -> None:
        self.readers = readers(store, wants, tracks)

    def at(self, frame: Moment, track: int) -> Measured:
        """What the features offer about ``track`` at ``frame`` (see ``Measured``)."""
        values: dict[str, Offer | None] = {}
        for reader in self.readers:
            values.update(reader.at(frame, track))
        return Measured(values)
