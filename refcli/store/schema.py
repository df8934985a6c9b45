"""Arrow schemas of the index tables and the schema version.

Bump SCHEMA_VERSION whenever a table's columns change, and add a migration from the
previous version to MIGRATIONS; a database newer than this code is refused, never guessed at.

The per-person features (refcli.features) declare what they store themselves: their columns of
the tracks table and their own content tables are added here from the feature registry, and
``add_feature_storage`` gives an existing database the ones it lacks. A feature that adds a
tracks column bumps SCHEMA_VERSION with ``add_feature_storage`` as its migration (a database
opened only for reading must not miss a column its readers ask for); a new table alone needs
nothing, it is made when the database is next opened for writing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from refcli.features import stored_by_features

SCHEMA_VERSION = 13

BOX = pa.list_(pa.float32())  # not fixed-size: LanceDB would treat it as a vector column

ROW_COUNTS = pa.list_(pa.struct([("table", pa.string()), ("rows", pa.int64())]))

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
    ("gone_at", pa.float64()),  # set when a scan no longer finds the file; `refcli prune` deletes it
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
    # BLAKE2b of the whole file (refcli.io.files.full_hash): decides whether a file whose partial
    # hash matches really holds this content. Null for contents indexed before v8.
    ("full_hash", pa.string()),
    # Rows the current generation holds in each content table: `refcli repair` tells a whole
    # content from one that lost rows to a damaged data file.
    ("row_counts", ROW_COUNTS),
    # The pieces of one person's video track that the tracker split, joined (refcli.relink), worked
    # out when the file was indexed: pairs (track, the track that continues it), flat. Null for
    # contents indexed before v13: `find` then works them out from the stored tracks.
    ("joins", pa.list_(pa.int32())),
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

FEATURE_TRACK_FIELDS, FEATURE_TABLES = stored_by_features()

# One row per person track: a person followed across sampled frames (a photo's people are
# one-frame tracks). Per-sample data is kept compactly in parallel lists; the features' own
# columns follow (clothing colours, motion...).
TRACKS = pa.schema([
    ("content_id", pa.string()),
    ("generation", pa.int64()),
    ("track", pa.int32()),
    ("start", pa.float64()),  # null for photos
    ("end", pa.float64()),
    ("time", pa.float64()),  # the sample with the best box
    ("box", BOX),  # the best box
    ("score", pa.float32()),  # the best detector score
    ("samples", pa.list_(pa.int32())),  # sample indexes, in time order
    ("times", pa.list_(pa.float64())),
    ("boxes", pa.list_(pa.float32())),  # 4 floats (xyxy) per sample
    ("scores", pa.list_(pa.float32())),
    ("keyframes", pa.list_(pa.int32())),  # sample indexes whose frame is in `keyframes`
    *FEATURE_TRACK_FIELDS,
])

# Frames chosen as keyframes, shared by every track that chose them. Photos store none:
# the photo itself is read when its pixels are needed.
KEYFRAMES = pa.schema([
    ("content_id", pa.string()),
    ("generation", pa.int64()),
    ("sample", pa.int32()),
    ("time", pa.float64()),
    ("width", pa.int32()),
    ("height", pa.int32()),
    ("scale", pa.float32()),  # keyframe pixels per displayed pixel
    ("jpeg", pa.binary()),
])

# The user's own named people: one row per enrolled photo.
GALLERY = pa.schema([
    ("name", pa.string()),
    ("embedding", pa.list_(pa.float32())),
    ("source", pa.string()),
    ("added_at", pa.float64()),
])

# People: faces grouped by who they are (`refcli people`), one row per person; ``name`` is null
# until the user names them.
PEOPLE = pa.schema([
    ("person", pa.int64()),
    ("name", pa.string()),
    ("created_at", pa.float64()),
])

# Which person each indexed face (a row of the faces table) belongs to.
PERSON_FACES = pa.schema([
    ("content_id", pa.string()),
    ("generation", pa.int64()),
    ("track", pa.int32()),
    ("sample", pa.int32()),
    ("person", pa.int64()),
])

# Standing queries, run by `refcli scan` on what each scan adds.
WATCHES = pa.schema([
    ("query", pa.string()),
    ("backend", pa.string()),
    ("min_score", pa.float32()),
    ("added_at", pa.float64()),
    ("last_run", pa.float64()),
    # The newest content generation the query has looked at and reported (null: none yet, so the
    # next scan looks at everything). Contents of a newer generation are what it has not seen, even
    # when they were indexed by an earlier, interrupted scan or by a plain `refcli index`.
    ("checked_generation", pa.int64()),
])

# Hits already reported by `refcli scan`, so that each is reported once: backend + query +
# content + track.
SEEN_HITS = pa.schema([
    ("key", pa.string()),
    ("query", pa.string()),
    ("first_seen", pa.float64()),
])

# Answers of slow referrers (model backends), so a repeated query does not run the model again.
# Keyed by query, backend/model, gallery and the frame's content generation.
VERIFIED = pa.schema([
    ("key", pa.string()),
    ("indexes", pa.list_(pa.int32())),
    ("scores", pa.list_(pa.float32())),
    ("created", pa.float64()),
])

# Object grounding results (find with --grounder), so a second query about the same thing in the
# same frames does not run the grounder again. Keyed by grounder version, phrase and frame
# (content, generation, sample); 4 floats per box, calibrated scores.
GROUNDED = pa.schema([
    ("key", pa.string()),
    ("boxes", pa.list_(pa.float32())),
    ("scores", pa.list_(pa.float32())),
    ("created", pa.float64()),
])

# Content tables: rows of a generation; swept when their generation is no longer current.
CONTENT_TABLES = ("frames", "tracks", "keyframes", *sorted(FEATURE_TABLES))

TABLES: dict[str, pa.Schema] = {
    "meta": META, "files": FILES, "media": MEDIA, "frames": FRAMES, "tracks": TRACKS, "keyframes": KEYFRAMES,
    **{name: FEATURE_TABLES[name] for name in sorted(FEATURE_TABLES)},
    "gallery": GALLERY, "people": PEOPLE, "person_faces": PERSON_FACES, "watches": WATCHES, "seen_hits": SEEN_HITS,
    "verified": VERIFIED, "grounded": GROUNDED,
}


def table_names(db: Any) -> set[str]:
    """Every table of a LanceDB connection (its listing comes in pages)."""
    names: set[str] = set()
    token = None
    while True:
        response = db.list_tables(page_token=token)
        names.update(response.tables)
        token = response.page_token
        if not token:
            return names


def _v1_to_v2(db: Any) -> None:
    """v2 turned one-frame person rows into tracks with keyframes.

    The old rows cannot become tracks without decoding again, so they are dropped; the
    pipeline revision changed too, so the next `refcli index` re-indexes every file.
    """
    db.drop_table("tracks")
    db.create_table("tracks", schema=TRACKS)
    db.create_table("keyframes", schema=KEYFRAMES, exist_ok=True)


def _v2_to_v3(db: Any) -> None:
    """v3 added clothing colours to tracks, and the faces and gallery tables. Tracks are
    re-made by re-indexing (the pipeline revision changed too)."""
    db.drop_table("tracks")
    db.create_table("tracks", schema=TRACKS)
    db.create_table("faces", schema=TABLES["faces"], exist_ok=True)
    db.create_table("gallery", schema=GALLERY, exist_ok=True)


def _v3_to_v4(db: Any) -> None:
    """v4 marks files that disappeared (files.gone_at) and adds standing queries."""
    files = db.open_table("files")
    if "gone_at" not in files.schema.names:
        files.add_columns({"gone_at": "CAST(NULL AS DOUBLE)"})
    db.create_table("watches", schema=WATCHES, exist_ok=True)
    db.create_table("seen_hits", schema=SEEN_HITS, exist_ok=True)


def _v4_to_v5(db: Any) -> None:
    """v5 caches model backends' answers."""
    db.create_table("verified", schema=VERIFIED, exist_ok=True)


def _v5_to_v6(db: Any) -> None:
    """v6 added track motion and body poses. Old tracks keep a null motion until re-indexed (the
    pipeline revision changed too, so the next `refcli index` does that)."""
    tracks = db.open_table("tracks")
    if "motion" not in tracks.schema.names:
        tracks.add_columns(pa.field("motion", pa.list_(pa.float32())))
    add_feature_storage(db)  # the poses table


def _v6_to_v7(db: Any) -> None:
    """v7 caches object grounding results."""
    db.create_table("grounded", schema=GROUNDED, exist_ok=True)


def _v7_to_v8(db: Any) -> None:
    """v8 keeps each content's full hash (null for what was indexed before) and its row counts,
    counted here from the tables as they are, and how far each standing query has looked. A watch
    that ran before starts from the newest generation there is (it saw everything up to its last
    run; what an interrupted scan left unreported before v8 cannot be told apart)."""
    watches = db.open_table("watches")
    if "checked_generation" not in watches.schema.names:
        watches.add_columns({"checked_generation": "CAST(NULL AS BIGINT)"})
    media = db.open_table("media")
    if "full_hash" not in media.schema.names:
        media.add_columns({"full_hash": "CAST(NULL AS STRING)"})
    if "row_counts" not in media.schema.names:
        media.add_columns(pa.field("row_counts", ROW_COUNTS))
    current = {(m["content_id"], m["generation"]) for m in media.search().select(["content_id", "generation"])
               .limit(None).to_arrow().to_pylist()}
    counts: dict[tuple[str, int], dict[str, int]] = {key: dict.fromkeys(CONTENT_TABLES, 0) for key in current}
    existing = table_names(db)
    for name in CONTENT_TABLES:
        if name not in existing:
            continue
        pairs = db.open_table(name).search().select(["content_id", "generation"]).limit(None).to_arrow()
        for key in zip(pairs.column("content_id").to_pylist(), pairs.column("generation").to_pylist()):
            if key in counts:
                counts[key][name] += 1
    newest = max((gen for _, gen in current), default=None)
    if newest is not None and watches.count_rows("last_run IS NOT NULL"):
        watches.update(where="last_run IS NOT NULL", values={"checked_generation": newest})
    if counts:
        rows = pa.Table.from_pylist([{"content_id": cid, "generation": gen,
                                      "row_counts": [{"table": t, "rows": n} for t, n in tables.items()]}
                                     for (cid, gen), tables in counts.items()])
        (media.merge_insert(["content_id", "generation"]).when_matched_update_all().execute(rows))


def _v8_to_v9(db: Any) -> None:
    """v9 names pose cues at query time from the landmarks: the poses table's ``cues`` column goes."""
    if "poses" in table_names(db):
        poses = db.open_table("poses")
        if "cues" in poses.schema.names:
            poses.drop_columns(["cues"])


def _v10_to_v11(db: Any) -> None:
    """v11 adds the people and person_faces tables (`refcli people`); like every table a database
    lacks, they are made right after the migrations (Store.make_current). The version says that
    a v10 database lacks them, so a reader asks for one write first instead of finding them gone."""


def add_feature_storage(db: Any) -> list[str]:
    """Give a database the features' tables and tracks columns it lacks, empty (null for the
    tracks already stored: a re-index measures them, as the pipeline signature asks). Returns
    what was added. Runs after the numbered migrations, whenever the database is opened for
    writing: adding a feature needs no migration of its own."""
    added = []
    existing = table_names(db)
    for name, table_schema in FEATURE_TABLES.items():
        if name not in existing:
            db.create_table(name, schema=table_schema, exist_ok=True)
            added.append(name)
    if "tracks" in existing:
        tracks = db.open_table("tracks")
        missing = [f for f in FEATURE_TRACK_FIELDS if f.name not in tracks.schema.names]
        if missing:
            tracks.add_columns(missing)
            added.extend(f"tracks.{f.name}" for f in missing)
    return added


def _v12_to_v13(db: Any) -> None:
    """v13 keeps each video's joined track pieces on its media row (null before: worked out at
    query time until the file is indexed again)."""
    media = db.open_table("media")
    if "joins" not in media.schema.names:
        media.add_columns(pa.field("joins", pa.list_(pa.int32())))


MIGRATIONS: dict[int, Callable[[Any], object]] = {1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4, 4: _v4_to_v5,
                                                5: _v5_to_v6, 6: _v6_to_v7, 7: _v7_to_v8, 8: _v8_to_v9,
                                                9: add_feature_storage,  # v10: tracks.face_traits
                                                10: _v10_to_v11,
                                                11: add_feature_storage,  # v12: tracks.appearance
                                                12: _v12_to_v13}
"""from_version -> function(db) that upgrades a database to from_version + 1."""
