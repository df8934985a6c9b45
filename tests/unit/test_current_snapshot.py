"""What a query reads of the store (Contents.current, current_tracks, track_rows): the rows it
pairs by address are the rows it meant, also when the table was compacted in between; paths
order as the real ones do, also for names that are not UTF-8."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from refcli.store import Store, content
from refcli.track import Rows


def video(store: Store, index: int, tracks: int = 3) -> tuple[Rows, dict, dict]:
    cid = f"{index:032x}"
    gen = store.new_generation()
    rows = Rows()
    for t in range(tracks):
        samples = list(range(index % 3 + 1 + t))  # every track its own number of samples
        rows.tracks.append({
            "content_id": cid, "generation": gen, "track": t, "start": 0.0, "end": float(len(samples)), "time": 0.0,
            "box": [t, 0.0, t + 10.0, 20.0], "score": 0.5 + 0.01 * t, "samples": samples,
            "times": [float(s) for s in samples], "boxes": [float(index), float(t), 10.0, 20.0] * len(samples),
            "scores": [0.5 + 0.01 * t] * len(samples), "keyframes": []})
    media = {"content_id": cid, "kind": "video", "status": "ok", "error": None, "warnings": [], "signature": "s",
             "generation": gen, "decoder": "pyav", "width": 100, "height": 100, "duration": 1.0, "samples": 3,
             "people": tracks, "indexed_at": 0.0, "refcli_version": "test", "joins": []}
    files = {"path": f"/v/{index:03d}.mp4", "content_id": cid, "kind": "video", "size": 1, "mtime_ns": 1,
             "mode": 0o644, "error": None, "seen_at": 0.0, "gone_at": None}
    return rows, media, files


@pytest.fixture()
def store(db_path: Path) -> Store:
    """Twelve videos of three tracks, committed one by one: twelve fragments per table."""
    store = Store.open(str(db_path), create=True)
    with store.writer():
        for index in range(12):
            rows, media, files = video(store, index)
            store.contents.commit(rows, [media], [files])
    return store


def expected(store: Store) -> dict[tuple[int, int], list[int]]:
    rows = store.contents.read("tracks", ["generation", "track", "samples"]).to_pylist()
    return {(r["generation"], r["track"]): r["samples"] for r in rows}


@pytest.mark.parametrize("by_address", [True, False], ids=["by-address", "one-scan"])
def test_further_columns_pair_with_their_rows_after_a_compaction(store: Store, by_address: bool,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    if not by_address:
        monkeypatch.setattr(content, "TAKE_ROWS_MAX", 0)
    truth = expected(store)
    media = store.contents.current().media
    tracks = store.contents.current_tracks(media, ["track", "score"], row_ids=True)
    chosen = tracks.filter(pa.array([i % 2 == 0 for i in range(tracks.num_rows)]))
    fresh = store.contents.track_rows(media, chosen, ["samples", "boxes"])
    with store.writer():
        store.optimize(force=True)  # rewrites the fragments: the addresses read above move
    assert store._table("tracks").stats()["fragment_stats"]["num_fragments"] == 1
    moved = store._read("tracks", ["generation", "track"], row_ids=True)
    assert not set(moved.column("_rowid").to_pylist()) >= set(chosen.column("_rowid").to_pylist())
    compacted = store.contents.track_rows(media, chosen, ["samples", "boxes"])
    for table in (fresh, compacted):
        assert table.num_rows == chosen.num_rows == 18
        got = {(r["generation"], r["track"]): r["samples"] for r in table.to_pylist()}
        assert got == {key: truth[key] for key in got}
        assert [r["boxes"][1] for r in table.to_pylist()] == [float(t) for t in table.column("track").to_pylist()]


def test_superseded_generations_are_not_current(store: Store) -> None:
    media = store.contents.current().media
    old = media.column("content_id")[0].as_py()
    with store.writer():
        rows, row, files = video(store, 0, tracks=2)  # content 0 again, under a new generation
        store.contents.commit(rows, [row], [files])
    current = store.contents.current()
    tracks = store.contents.current_tracks(current.media, ["track"])
    mine = tracks.filter(pa.compute.equal(tracks.column("content_id"), old))
    assert mine.num_rows == 2 and set(mine.column("generation").to_pylist()) == {row["generation"]}
    assert tracks.num_rows == 11 * 3 + 2


def test_paths_order_as_the_real_ones(db_path: Path) -> None:
    """A name that is not UTF-8 is stored with NUL escapes (refcli.io.discover.db_path), which
    sort before every letter, while its real form sorts after them."""
    store = Store.open(str(db_path), create=True)
    names = ["/a/caf\udce9.jpg", "/a/cafz.jpg", "/a/cafa.jpg"]
    with store.writer():
        for index, name in enumerate(names):
            rows, media, files = video(store, index, tracks=1)
            store.contents.commit(rows, [{**media, "kind": "image"}], [{**files, "path": name, "kind": "image"}])
    current = store.contents.current()
    ids = current.media.column("content_id").to_pylist()
    ranked = [ids[i] for i in current.path_order().argsort()]
    by_path = sorted(names)
    assert [current.paths_of([cid])[cid] for cid in ranked] == [[p] for p in by_path]
    assert current.paths == {cid: [names[int(cid, 16)]] for cid in ids}


def test_an_archive_whose_files_are_all_gone_answers_nobody(store: Store) -> None:
    """Rows stay until a sweep; with no file left pointing at them, nothing is current (and
    neither the tracks nor the frames path fails on an empty snapshot)."""
    from refcli.query import build_referrer, find
    from refcli.query.backends import ReferrerSettings

    gone = store._read("files").to_pylist()
    with store.writer():
        store.contents.commit(files=[{**row, "gone_at": 1.0} for row in gone])
    current = store.contents.current()
    assert current.media.num_rows == 0
    assert store.contents.current_tracks(current.media, ["track"]).num_rows == 0
    referrer = build_referrer(ReferrerSettings())
    for whole in (True, False):
        for query in ("person", "the person on the left"):
            result = find(store, query, referrer, whole_tracks=whole)
            assert (result.total, result.hits) == (0, []), (query, whole)
