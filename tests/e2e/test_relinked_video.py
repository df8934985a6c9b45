"""The pieces of one person's track joined again, on real people pasted on real footage
(tests/data/composite_relink.mp4, made by tests/data/make_composite.py): walker A is hidden for
2.5 s, longer than the tracker waits, so the tracker ends A's track and starts another; `find`
answers A as one hit over A's whole walk, and nobody else is joined to anyone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from refcli.cli.app import app
from refcli.relink import chains, pieces_of
from refcli.store import Store

runner = CliRunner()


def test_a_person_hidden_longer_than_the_tracker_waits_is_one_hit(tmp_path: Path, data_dir: Path) -> None:
    video = tmp_path / "walkers.mp4"
    shutil.copy(data_dir / "composite_relink.mp4", video)
    truth = json.loads((data_dir / "composite_relink.json").read_text())
    db = str(tmp_path / "db")
    assert runner.invoke(app, ["index", str(video), "--db", db]).exit_code == 0
    store = Store.open(db)
    record = next(iter(store.contents.media().values()))
    pieces = pieces_of(store, record.content_id, record.generation)
    hidden_from, hidden_to = truth["A"]["hidden"]
    before = [p for p in pieces if p.end <= hidden_from + 0.01]
    after = [p for p in pieces if p.start >= hidden_to - 0.01 and p.start <= hidden_to + 1.0]
    assert before and after  # the tracker did split A (else this test tests nothing)
    joined = chains(pieces)
    assert len(joined) == 1  # A, and nobody else
    result = json.loads(runner.invoke(app, ["find", "person", "--db", db, "--json", "--limit", "0"]).stdout)
    spans = [(h["start"], h["end"]) for h in result["hits"]]
    whole_walk = [s for s in spans if s[0] <= truth["A"]["start"] + 0.5 and s[1] >= truth["A"]["end"] - 0.5]
    assert len(whole_walk) == 1, spans
    assert len(result["hits"]) == len(pieces) - 1


def test_the_person_of_a_hit_includes_their_joined_pieces(tmp_path: Path, data_dir: Path) -> None:
    """`find --like HIT` asks for a person: in a video, the pieces of their track joined to the
    one whose face matched come too (here chosen by hand: the walkers show no face)."""
    from refcli.people.like import only_like
    from refcli.query.moments import Chosen, Place, moments

    video = tmp_path / "walkers.mp4"
    shutil.copy(data_dir / "composite_relink.mp4", video)
    db = str(tmp_path / "db")
    assert runner.invoke(app, ["index", str(video), "--db", db]).exit_code == 0
    store = Store.open(db)
    record = next(iter(store.contents.media().values()))
    rows = store.contents.tracks(record.content_id, record.generation)
    (first, then), = chains(pieces_of(store, record.content_id, record.generation)).items()
    picked = {(record.content_id, record.generation, first): [
        Chosen(s, t, rows[first]["boxes"][4 * k:4 * k + 4], 0.9)
        for k, (s, t) in enumerate(zip(rows[first]["samples"], rows[first]["times"]))]}
    places = {record.content_id: Place("video", [str(video)])}
    alone = moments(store, {k: list(v) for k, v in picked.items()}, places)
    assert len(alone) == 1 and alone[0].end == rows[first]["times"][-1]  # a query judged only the first piece
    hits = moments(store, picked, places, whole_person=True)
    assert len(hits) == 1 and hits[0].start == rows[first]["times"][0] and hits[0].end == rows[then]["times"][-1]
    assert only_like("3c302ec36d01cec8:0:0")
    assert not only_like("the man in red, the same person as 3c302ec36d01cec8:0:0")
