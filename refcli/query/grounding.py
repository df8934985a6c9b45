"""Object boxes for queries about things ("holding a microphone"), for the frames that need them."""

from __future__ import annotations

from dataclasses import replace

from refcli.ground import Grounder
from refcli.query.frames import FrameRequest
from refcli.query.pixels import frame_pixels
from refcli.refer import Referrer
from refcli.store import Store


class Grounding:
    """Frames where nobody meets the cheaper constraints are dropped first; the rest are grounded
    (cached) and carry the boxes in their requests. Without a grounder the referrer reports the
    objects as unsupported."""

    def __init__(self, store: Store, referrer: Referrer, query: str, grounder: Grounder | None) -> None:
        self.store, self.grounder, self.query = store, grounder, query
        self.ran = 0  # (frame, phrase) pairs that ran the grounder, not read from its cache
        self.active = "objects" in referrer.wants(query)

    def apply(self, built: list[FrameRequest]) -> list[FrameRequest]:
        from refcli.refer.embedded import EmbeddedReferrer

        embedded = EmbeddedReferrer(self.store.gallery.embeddings(), ignore_unsupported=True)
        worth = embedded.meets_all_but_objects([item.request for item in built])
        kept = [item for item, keep in zip(built, worth) if keep]
        if self.grounder is None or not kept:
            return kept
        from refcli.ground.stage import ground_frames

        phrases = [p for p in embedded.object_phrases(self.query) if self.grounder.understands(p)]
        if not phrases:
            return kept
        found, self.ran = ground_frames(self.store, self.grounder, phrases, [item.frame for item in kept],
                                        lambda frame: frame_pixels(self.store, frame))
        return [replace(item, request=replace(item.request, objects=objects))
                for item, objects in zip(kept, found) if objects is not None]
