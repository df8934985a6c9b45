"""Arrow schemas of the index tables and the schema version.

Bump SCHEMA_VERSION whenever a table's columns change, and add a migration from the
previous version to MIGRATIONS; a database newer than this code is refused, never guessed at.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

SCHEMA_VERSION = 1

BOX = pa.list_(pa.float32())  # not fixed-size: LanceDB would treat it as a vector column

CANDIDATE = pa.struct([("box", BOX), ("score", pa.float32()), ("track", pa.int32())])

META = pa.schema([("key", pa.string()), ("value", pa.string())])

# One row per path on disk. The quick check (size, mtime, mode) lives here because it is a
# property of the path; content_id is null when the file could not even be read.
FILES = pa.schema([
    ("path", pa.string()),
    ("content_id", pa.string()),
    ("kind", pa.string()),
    ("size", pa.int64()),
    ("mtime_ns", pa.int64()),
    ("mode", pa.int32()),
    ("error", pa.string()),
    ("seen_at", pa.float64()),
])

# One row per content. `generation` names the rows of frames/tracks that are current;
# it is switched last, so readers never see a half-written file.
MEDIA = pa.schema([
    ("content_id", pa.string()),
    ("kind", pa.string()),
    ("status", pa.string()),  # "ok" | "failed"
    ("error", pa.string()),
    ("warnings", pa.list_(pa.string())),
    ("signature", pa.string()),
    ("generation", pa.int64()),
    ("decoder", pa.string()),
    ("width", pa.int32()),
    ("height", pa.int32()),
    ("duration", pa.float64()),
    ("samples", pa.int32()),
    ("people", pa.int32()),
    ("indexed_at", pa.float64()),
    ("refcli_version", pa.string()),
])

# Each photo and each sampled video frame with at least one candidate, with every candidate:
# a referrer looks at one frame and its candidates, and its answer maps back to tracks.
FRAMES = pa.schema([
    ("content_id", pa.string()),
    ("generation", pa.int64()),
    ("sample", pa.int32()),
    ("time", pa.float64()),  # seconds from the start of the video; null for photos
    ("width", pa.int32()),
    ("height", pa.int32()),
    ("candidates", pa.list_(CANDIDATE)),
])

# One row per person track. Until tracking lands every detection is a one-frame track,
# so photos (always one-frame tracks) never need migrating.
TRACKS = pa.schema([
    ("content_id", pa.string()),
    ("generation", pa.int64()),
    ("track", pa.int32()),
    ("start", pa.float64()),
    ("end", pa.float64()),
    ("time", pa.float64()),  # the sample with the best box
    ("box", BOX),
    ("score", pa.float32()),
    ("samples", pa.int32()),
])

TABLES: dict[str, pa.Schema] = {
    "meta": META, "files": FILES, "media": MEDIA, "frames": FRAMES, "tracks": TRACKS,
}

MIGRATIONS: dict[int, Callable[[Any], None]] = {}
"""from_version -> function(db) that upgrades a database to from_version + 1."""
