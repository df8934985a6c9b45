"""The LanceDB store: schema version, generation switching, sweeping, the writer lock."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from refcli.errors import SchemaTooNewError, StoreError, WriterBusyError
from refcli.features.faces import FacesFeature
from refcli.features.motion import stored_motion
from refcli.store import Store, schema
from refcli.track import Rows

CID = "0123456789abcdef0123456789abcdef"


def content(generation: int, boxes: list[list[float]]) -> tuple[Rows, dict]:
    media = {"content_id": CID, "kind": "image", "status": "ok", "error": None, "warnings": [], "signature": "s",
             "generation": generation, "decoder": "pillow", "width": 100, "height": 100, "duration": None,
             "samples": 1, "people": len(boxes), "indexed_at": 0.0, "refcli_version": "test"}
    frame = {"content_id": CID, "generation": generation, "sample": 0, "time": None, "width": 100, "height": 100,
             "candidates": [{"box": b, "score": 0.9, "track": i} for i, b in enumerate(boxes)]}
    return Rows(frames=[frame]), media


def commit(store: Store, generation: int, boxes: list[list[float]]) -> None:
    rows, media = content(generation, boxes)
    store.contents.commit(rows, [media], [file_row()])


def file_row(path: str = "/a/b.jpg") -> dict:
    return {"path": path, "content_id": CID, "kind": "image", "size": 1, "mtime_ns": 1, "mode": 0o644,
            "error": None, "seen_at": 0.0}


def current_boxes(store: Store) -> list[list[list[float]]]:
    frames, _ = store.contents.current_frames()
    return [[c["box"] for c in row["candidates"]] for row in frames.to_pylist()]


def test_missing_database_says_how_to_make_one(db_path: Path) -> None:
    with pytest.raises(StoreError, match="run `refcli index PATH` first"):
        Store.open(str(db_path))


def test_newer_schema_is_refused(db_path: Path) -> None:
    store = Store.open(str(db_path), create=True)
    meta = store._table("meta")
    meta.delete("key = 'schema_version'")
    meta.add(pa.Table.from_pylist([{"key": "schema_version", "value": "99"}], schema=schema.META))
    with pytest.raises(SchemaTooNewError, match="schema v99, newer than this refcli understands"):
        Store.open(str(db_path))


def test_foreign_lancedb_is_refused(db_path: Path) -> None:
    import lancedb

    lancedb.connect(str(db_path)).create_table("other", data=[{"x": 1}])
    with pytest.raises(StoreError, match="not a refcli database"):
        Store.open(str(db_path))


def test_readers_see_old_or_new_rows_never_a_mix(db_path: Path) -> None:
    store = Store.open(str(db_path), create=True)
    with store.writer():
        old = store.new_generation()
        commit(store, old, [[1, 1, 5, 5]])
        assert current_boxes(store) == [[[1, 1, 5, 5]]]
        # A crash after writing the new generation's frames, before the media row switched:
        new = store.new_generation()
        store.contents.commit(content(new, [[2, 2, 8, 8]])[0])
        assert current_boxes(store) == [[[1, 1, 5, 5]]]
        # The rerun writes yet another generation and switches to it.
        newest = store.new_generation()
        commit(store, newest, [[3, 3, 9, 9]])
        assert current_boxes(store) == [[[3, 3, 9, 9]]]
        assert store._table("frames").count_rows() == 3  # unreachable rows wait for the sweep
        store.contents.sweep()
        assert store._table("frames").count_rows() == 1
        assert current_boxes(store) == [[[3, 3, 9, 9]]]


def test_sweep_drops_content_no_path_points_to(db_path: Path) -> None:
    store = Store.open(str(db_path), create=True)
    with store.writer():
        commit(store, store.new_generation(), [[1, 1, 5, 5]])
        store.contents.commit(files=[dict(file_row(), content_id=None, error="cannot read file")])
        assert store.contents.sweep() == 1
        assert store._table("media").count_rows() == 0
        assert store._table("frames").count_rows() == 0


def test_generations_increase(db_path: Path) -> None:
    store = Store.open(str(db_path), create=True)
    gens = [store.new_generation() for _ in range(100)]
    assert gens == sorted(set(gens))


def test_one_writer_at_a_time(db_path: Path) -> None:
    first = Store.open(str(db_path), create=True)
    second = Store.open(str(db_path), create=True)
    with first.writer():
        with pytest.raises(WriterBusyError, match="another refcli is writing"):
            with second.writer():
                pass
        assert current_boxes(second) == []  # readers do not wait
    with second.writer():
        pass


def test_writes_outside_the_writer_are_refused(db_path: Path) -> None:
    store = Store.open(str(db_path), create=True)
    with pytest.raises(StoreError, match="outside Store.writer"):
        store.contents.commit(files=[file_row()])


def test_version_1_database_is_migrated(db_path: Path) -> None:
    """A v1 database (one-frame person rows, no keyframes table) opens after migration."""
    import lancedb

    db = lancedb.connect(str(db_path))
    v1_tracks = pa.schema([("content_id", pa.string()), ("generation", pa.int64()), ("track", pa.int32()),
                           ("start", pa.float64()), ("end", pa.float64()), ("time", pa.float64()),
                           ("box", pa.list_(pa.float32())), ("score", pa.float32()), ("samples", pa.int32())])
    for name in ("files", "media", "frames"):
        db.create_table(name, schema=schema.TABLES[name])
    db.create_table("tracks", schema=v1_tracks)
    db.create_table("meta", data=pa.Table.from_pylist([{"key": "schema_version", "value": "1"}], schema=schema.META))
    with pytest.raises(StoreError, match="older schema"):
        Store.open(str(db_path))  # readers do not migrate
    store = Store.open(str(db_path), create=True)
    assert store._schema_version() == schema.SCHEMA_VERSION
    assert store._table("tracks").schema.equals(schema.TRACKS)
    assert "keyframes" in store._table_names()


def test_version_5_database_gains_motion_and_poses(db_path: Path) -> None:
    """v6 added tracks.motion and the poses table; a v5 database keeps its rows."""
    import lancedb

    store = Store.open(str(db_path), create=True)
    db = lancedb.connect(str(db_path))
    db.drop_table("poses")
    db.drop_table("tracks")
    v5_tracks = pa.schema([f for f in schema.TRACKS if f.name != "motion"])
    db.create_table("tracks", data=pa.Table.from_pylist([{"content_id": "c" * 16, "generation": 1, "track": 0}],
                                                        schema=v5_tracks))
    store._table("meta").update(where="key = 'schema_version'", values={"value": "5"})
    migrated = Store.open(str(db_path), create=True)
    assert migrated._schema_version() == schema.SCHEMA_VERSION
    assert migrated._table("tracks").count_rows() == 1
    assert "motion" in migrated._table("tracks").schema.names and "poses" in migrated._table_names()
    assert stored_motion(migrated)[("c" * 16, 1, 0)][1] is None  # not measured: a re-index measures it


def test_version_8_database_loses_the_stored_pose_cues(db_path: Path) -> None:
    """v9 names pose cues at query time: the poses table's ``cues`` column goes, its rows stay."""
    import lancedb

    store = Store.open(str(db_path), create=True)
    db = lancedb.connect(str(db_path))
    db.drop_table("poses")
    cue = pa.struct([("name", pa.string()), ("value", pa.string()), ("confidence", pa.float32())])
    v8_poses = pa.schema([*schema.TABLES["poses"], pa.field("cues", pa.list_(cue))])
    db.create_table("poses", data=pa.Table.from_pylist([{"content_id": "c" * 16, "generation": 1, "track": 0,
                                                         "sample": 0, "landmarks": [0.0] * 99, "cues": []}],
                                                       schema=v8_poses))
    store._table("meta").update(where="key = 'schema_version'", values={"value": "8"})
    migrated = Store.open(str(db_path), create=True)
    assert migrated._schema_version() == schema.SCHEMA_VERSION
    assert migrated._table("poses").schema.equals(schema.TABLES["poses"])
    assert migrated._table("poses").count_rows() == 1


def test_a_features_missing_table_and_column_are_added_empty(db_path: Path) -> None:
    """What a feature declares it stores (refcli.features) is given to a database that lacks it."""
    import lancedb

    Store.open(str(db_path), create=True)
    db = lancedb.connect(str(db_path))
    db.drop_table("faces")
    without = pa.schema([f for f in schema.TRACKS if f.name != "lower_colours"])
    db.drop_table("tracks")
    db.create_table("tracks", data=pa.Table.from_pylist([{"content_id": "c" * 16, "generation": 1, "track": 0}],
                                                        schema=without))
    assert sorted(schema.add_feature_storage(db)) == ["faces", "tracks.lower_colours"]
    assert schema.add_feature_storage(db) == []
    store = Store.open(str(db_path))
    tracks = store._table("tracks").schema  # an added column comes last: rows are written by name
    assert sorted(tracks.names) == sorted(schema.TRACKS.names) and store._table("faces").count_rows() == 0
    assert tracks.field("lower_colours").type == schema.TRACKS.field("lower_colours").type
    assert store._table("tracks").to_arrow().column("lower_colours").to_pylist() == [None]


def test_the_features_declare_their_storage() -> None:
    assert {"faces", "poses"} <= set(schema.CONTENT_TABLES) and {"upper_colours", "motion"} <= set(schema.TRACKS.names)
    assert schema.TABLES["faces"] is FacesFeature.tables["faces"]


def test_object_storage_uris_are_refused_plainly() -> None:
    with pytest.raises(StoreError, match="object storage has no lock"):
        Store.open("s3://bucket/refcli", create=True)
