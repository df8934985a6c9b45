"""The prefilter: a slow backend looks only at frames the cheap referrer cannot rule out."""

from __future__ import annotations

from refcli.query.backends import ReferrerSettings, build_referrer
from refcli.query.frames import FrameRequest
from refcli.store import Store

PREFILTER_FRAMES = 200
"""Above this many frames, a model backend only sees frames where the embedded referrer finds
someone for the parts of the query it understands (colours, positions, names...)."""


def prefilter(store: Store, query: str, built: list[FrameRequest]) -> list[FrameRequest]:
    """The frames where the embedded referrer, judging what it understands of ``query``, finds
    someone or cannot tell; all of them when it understands nothing that rules people out."""
    cheap = build_referrer(ReferrerSettings(gallery=store.gallery.embeddings(), ignore_unsupported=True))
    if not cheap.narrows(query):
        return built  # nothing the cheap referrer can check: every frame goes to the model
    results = cheap.refer([item.request for item in built])
    # a frame it cannot judge (a cue whose features were not loaded) goes to the model
    return [item for item, result in zip(built, results) if result.indexes or result.unsupported]
