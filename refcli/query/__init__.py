"""Answering a query over the index: the modules `find`, `scan`, `export` and `eval` share.

- ``backends``: ReferrerSettings and the one factory of referrers and object grounders;
- ``frames``: the stored frames as typed records, and the requests built from them;
- ``assembly``: frames to batches of requests (people, measured features, pixels);
- ``cues``: pose and motion cues of a track at one frame;
- ``prefilter``: a slow backend sees only frames the cheap referrer cannot rule out;
- ``grounding``: object boxes for queries about things, on the frames worth grounding;
- ``pixels``: a stored frame's pixels (the photo, or its keyframe);
- ``cache``: slow referrers' answers, kept in the database;
- ``moments``: chosen samples to hits (runs of a track);
- ``hits``: the records `find` answers with; ``search``: `find` itself.

Names are imported on first use, so that importing one module (the factory, say) does not load
the store.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from refcli.query.backends import ReferrerSettings, build_grounder, build_referrer
    from refcli.query.cues import MomentCues
    from refcli.query.frames import Candidate, Frame, FrameRequest, current_frames
    from refcli.query.hits import FindResult, Hit, format_span, format_time
    from refcli.query.pixels import frame_pixels
    from refcli.query.search import find, require_query

_WHERE = {
    "ReferrerSettings": "backends", "build_grounder": "backends", "build_referrer": "backends",
    "MomentCues": "cues", "find": "search", "require_query": "search", "Candidate": "frames", "Frame": "frames",
    "FrameRequest": "frames", "current_frames": "frames", "FindResult": "hits", "Hit": "hits",
    "format_span": "hits", "format_time": "hits", "frame_pixels": "pixels",
}

__all__ = ["Candidate", "FindResult", "Frame", "FrameRequest", "Hit", "MomentCues", "ReferrerSettings",
           "build_grounder", "build_referrer", "current_frames", "find", "format_span", "format_time",
           "frame_pixels", "require_query"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"refcli.query.{_WHERE[name]}"), name)
