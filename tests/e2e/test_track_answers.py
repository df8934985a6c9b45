"""Answers from the tracks table (refcli.query.tracks) are the answers the frames give: on real
photos and videos indexed with the models inside refcli, and on a larger archive generated from
their rows, every query a track decides alone gets the same hits, total and unsupported phrases
both ways, and the tracks way reads no frame. Queries it does not decide alone read only the
frames that hold someone its cheap test keeps (refcli.query.pushdown), and answer as every frame
does."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from refcli.cli.app import app
from refcli.query import build_referrer, find
from refcli.query.backends import ReferrerSettings
from refcli.store import Store
from refcli.track import Rows

runner = CliRunner()

ALONE = [
    "person", "everyone", "people in red", "the person in red", "someone wearing blue", "people not wearing red",
    "the man", "a woman", "the women", "a man in a white shirt", "people in black or red", "a smiling person",
    "not a man", "a woman who is not smiling", "an adult", "a child", "people in a red top and blue trousers",
    "Barack Obama", "Barack Obama in a blue shirt",
]
"""Queries whose answer a track's stored values decide (names, colours, face traits)."""

NOT_ALONE = ["the person on the left", "the two people in red", "the man next to the woman", "a walking person"]

MIXED = [
    "the man on the left", "the woman on the right", "the person in red on the left", "people in blue on the right",
    "the second person in black from the left", "the biggest person in white", "the two people in red",
    "the man next to the woman", "a woman next to a man in black", "a walking person", "a person walking left",
    "people walking towards the camera", "a still person in black", "a person not walking", "a standing man",
    "a person sitting", "a person with arms raised", "people facing the camera on the left", "a person not standing",
    "the man next to a standing person", "Barack Obama on the left", "Barack Obama sitting", "a man holding a cup",
    "Barack Obama holding a cup", "a smiling woman on the right", "people in red walking right", "a person facing away",
    "a man facing away on the left",
]
"""Queries that a track's stored values narrow but do not decide: a position, a size, a count,
another person, a thing, a pose or a motion cue beside who the person is."""


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Store:
    """Portraits, a photo of a match, and real and composite walkers, indexed with faces and
    pose, with one person named from another photo."""
    pytest.importorskip("dlib", reason="the faces extra is not installed")
    root = tmp_path_factory.mktemp("archive")
    for name in ("obama.jpg", "biden.jpg", "astronaut.jpg", "messi5.jpg", "vtest_4s.mp4", "composite_walkers.mp4",
                 "composite_relink.mp4"):
        shutil.copy(data_dir / name, root / name)
    db = str(root / "db")
    for args in (["index", str(root), "--db", db, "--faces", "--pose"],
                 ["faces", "add", "Barack Obama", str(data_dir / "obama2.jpg"), "--db", db]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    return Store.open(db)


def answers(store: Store, query: str, whole_tracks: bool, limit: int | None = None) -> tuple[dict, int, int]:
    referrer = build_referrer(ReferrerSettings(gallery=store.gallery.embeddings()))
    result = find(store, query, referrer, whole_tracks=whole_tracks, limit=limit)
    said = result.to_dict()
    return ({k: said[k] for k in ("total", "hits", "unsupported", "ignored", "warnings")},
            result.frames_judged, result.tracks_judged)


@pytest.mark.parametrize("query", ALONE)
def test_tracks_answer_as_the_frames_do(indexed: Store, query: str) -> None:
    by_tracks, frames_read, tracks_judged = answers(indexed, query, True)
    by_frames, frames_judged, _ = answers(indexed, query, False)
    assert by_tracks == by_frames
    if not by_frames["unsupported"]:  # "not a man": refused before any frame or track is read
        assert frames_read == 0 and frames_judged > 0
    for limit in (1, 3):  # the first hits, counted and ranked without judging every track
        first, _, judged = answers(indexed, query, True, limit)
        assert first == answers(indexed, query, False, limit)[0]
        if "obama" not in query.lower() and first["total"] > limit:  # a name needs every face compared
            assert judged <= limit + 2  # the pieces of one person's hit are judged together


def test_the_test_media_answer_something(indexed: Store) -> None:
    """The comparison above is not between two empty answers."""
    assert answers(indexed, "person", True)[0]["total"] >= 20
    for query in ("people in red", "the man", "a woman", "Barack Obama"):
        assert answers(indexed, query, True)[0]["total"] >= 1, query


@pytest.mark.parametrize("query", NOT_ALONE)
def test_what_a_track_does_not_decide_reads_the_frames(indexed: Store, query: str) -> None:
    _, frames_judged, tracks_judged = answers(indexed, query, True)
    assert frames_judged > 0 and tracks_judged == 0


@pytest.mark.parametrize("query", MIXED)
def test_frames_read_for_who_may_match_answer_as_every_frame(indexed: Store, query: str) -> None:
    pushed, frames_read, _ = answers(indexed, query, True)
    every, frames_judged, _ = answers(indexed, query, False)
    assert pushed == every
    assert frames_read <= frames_judged
    for limit in (1, 3):
        assert answers(indexed, query, True, limit)[0] == answers(indexed, query, False, limit)[0]


def test_the_mixed_queries_answer_something_and_skip_frames(indexed: Store) -> None:
    """The comparison above is not between empty answers, and frames are spared."""
    for query in ("the man on the left", "a walking person", "a person walking left", "a person facing away",
                  "Barack Obama on the left", "people facing the camera on the left"):
        assert answers(indexed, query, True)[0]["total"] >= 1, query
    for query in ("Barack Obama on the left", "the man on the left", "a person walking left", "a person facing away"):
        _, read, _ = answers(indexed, query, True)
        _, every, _ = answers(indexed, query, False)
        assert read < every, query
    assert answers(indexed, "a man holding a cup", True)[0]["unsupported"]  # said once nobody is left too
    assert answers(indexed, "Barack Obama holding a cup", True)[0]["unsupported"]


def test_weak_boxes_no_track_took_are_judged_as_every_frame_judges_them(indexed: Store) -> None:
    """Under the tracks' floor a box no track took is a person of its own: its frames are read,
    with every candidate there."""
    referrer = build_referrer(ReferrerSettings(gallery=indexed.gallery.embeddings()))
    for query in ("the man on the left", "a walking person", "the person in red on the left"):
        pushed, every = (find(indexed, query, referrer, min_score=0.05, whole_tracks=whole).to_dict()
                         for whole in (True, False))
        assert pushed["hits"] == every["hits"] and pushed["total"] == every["total"], query


def test_what_was_not_measured_is_said_as_every_frame_says_it(tmp_path: Path, data_dir: Path) -> None:
    """Photos indexed without pose: a query about a pose, the chosen person's or another's, says
    pose is not indexed both ways, also where nobody else matches (the frames are still read)."""
    for name in ("obama.jpg", "messi5.jpg"):
        shutil.copy(data_dir / name, tmp_path / name)
    db = str(tmp_path / "db")
    assert runner.invoke(app, ["index", str(tmp_path), "--db", db]).exit_code == 0
    store = Store.open(db)
    for query in ("the man sitting", "people in purple next to a sitting person", "a man next to a standing man"):
        pushed, read, _ = answers(store, query, True)
        assert pushed["unsupported"] and pushed == answers(store, query, False)[0], query
        assert read > 0


def test_a_generated_archive_answers_the_same_both_ways(indexed: Store, tmp_path: Path) -> None:
    """Many contents made of the real rows, each track given the colours and face traits of a
    random real track: the tracks table and the frames agree on every query."""
    store = generated(indexed, str(tmp_path / "db"), copies=12)
    for query in ALONE:
        for limit in (None, 20):
            assert answers(store, query, True, limit)[0] == answers(store, query, False, limit)[0], (query, limit)
    for query in MIXED:  # judged frame by frame either way: the first hits are the whole answer's first
        assert answers(store, query, True)[0] == answers(store, query, False)[0], query
    # its faces were not copied: a name cannot be judged, and both ways say so, even where
    # nobody else matches
    by_tracks = answers(store, "Barack Obama in purple", True)[0]
    assert by_tracks["unsupported"] and by_tracks == answers(store, "Barack Obama in purple", False)[0]


def generated(source: Store, path: str, copies: int) -> Store:
    rng = random.Random(7)
    media = {m.content_id: m for m in source.contents.media().values()}
    frames, _ = source.contents.current_frames()
    tracks = source.contents.read("tracks", ["content_id", "generation", "track", "start", "end", "time", "box",
                                             "score", "samples", "times", "boxes", "scores", "keyframes",
                                             "upper_colours", "lower_colours", "face_traits", "motion"]).to_pylist()
    looks = [(t["upper_colours"], t["lower_colours"], t["face_traits"]) for t in tracks]
    poses = source.contents.read("poses", ["content_id", "generation", "track", "sample", "time",
                                            "landmarks"]).to_pylist()
    raw = source._read("media").to_pylist()
    store = Store.open(path, create=True)
    with store.writer():
        store.gallery.add(source._read("gallery").to_pylist())
        for copy in range(copies):
            rows, media_rows, files = Rows(), [], []
            for content_id, record in media.items():
                cid = f"{copy:04x}{content_id[4:]}"
                gen = store.new_generation()
                for frame in frames.to_pylist():
                    if frame["content_id"] == content_id and frame["generation"] == record.generation:
                        rows.frames.append({**{k: frame[k] for k in ("sample", "time", "width", "height",
                                                                     "candidates")},
                                            "content_id": cid, "generation": gen})
                for track in tracks:
                    if track["content_id"] == content_id and track["generation"] == record.generation:
                        upper, lower, traits = rng.choice(looks)
                        rows.tracks.append({**track, "content_id": cid, "generation": gen, "upper_colours": upper,
                                            "lower_colours": lower, "face_traits": traits})
                        rows.add("poses", [{**pose, "content_id": cid, "generation": gen} for pose in poses
                                           if (pose["content_id"], pose["generation"], pose["track"])
                                           == (content_id, record.generation, track["track"])])
                row = next(r for r in raw if r["content_id"] == content_id)
                media_rows.append({**row, "content_id": cid, "generation": gen})
                files.append({"path": f"/archive/{copy}/{content_id}", "content_id": cid, "kind": record.kind,
                              "size": 1, "mtime_ns": 1, "mode": 0o644, "error": None, "seen_at": 0.0,
                              "gone_at": None})
            store.contents.commit(rows, media_rows, files)
    return store
