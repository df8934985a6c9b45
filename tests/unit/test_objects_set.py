"""The labelled set of expressions about things (tests/data/humanref_objects): well formed, read
by the grammar as object relations, and run through `refcli eval` with and without a grounder."""

from __future__ import annotations

import json
from pathlib import Path

from test_grounders import owlv2
from typer.testing import CliRunner

from refcli.cli.app import app
from refcli.evaluate import load_annotations
from refcli.refer.grammar import parse

runner = CliRunner()
SET = Path(__file__).parents[1] / "data" / "humanref_objects" / "annotations.jsonl"


def test_the_set_is_well_formed(data_dir: Path) -> None:
    annotations = load_annotations(str(SET))
    assert len(annotations) >= 20
    assert sum(not a.answer_boxes for a in annotations) == 9  # rejections
    for a in annotations:
        assert (data_dir / a.image_name).exists()
        assert all(box in a.candidate_boxes for box in a.answer_boxes), a.referring
        assert (a.domain == "rejection") == (not a.answer_boxes)
        parsed = parse(a.referring)
        assert parsed.objects and not parsed.unsupported, (a.referring, parsed.unsupported)


def evaluate(tmp_path: Path, data_dir: Path, *extra: str) -> dict:
    result = runner.invoke(app, ["eval", "humanref", "--annotations", str(SET), "--images", str(data_dir),
                                 "--use-candidates", "--out", str(tmp_path / "predictions.jsonl"), "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_without_a_grounder_every_object_expression_abstains(tmp_path: Path, data_dir: Path) -> None:
    scores = evaluate(tmp_path, data_dir, "--grounder", "none")
    rows = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == len(load_annotations(str(SET)))
    assert all(row["unsupported"] and not row["extracted_predictions"] for row in rows)  # never a guessed box
    model = scores["models"][0]
    assert model["rejection"] == {"total": 9, "correct": 9, "abstained": 9, "correct_by_judgement": 0}
    assert model["abstentions"] == {"interaction": 12, "rejection": 9}


def test_with_a_grounder_every_expression_is_judged(tmp_path: Path, data_dir: Path) -> None:
    model = owlv2(tmp_path / "owl")
    scores = evaluate(tmp_path, data_dir, "--grounder", "owlv2", "--grounder-model", str(model), "--device", "cpu")
    rows = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == len(load_annotations(str(SET)))
    assert not any(row["unsupported"] for row in rows)
    assert scores["models"][0]["rejection"]["abstained"] == 0  # judged, right or wrong
