"""`refcli models`, `refcli doctor`, and the rexseek adapter's answer parsing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from refcli.cli.app import app
from refcli.refer.rexseek import parse_rexseek, requirements

runner = CliRunner()


def test_doctor_reports_versions_devices_models_and_backends(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REFCLI_MODELS", str(tmp_path))
    monkeypatch.delenv("REFCLI_REXSEEK_PYTHON", raising=False)
    result = runner.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["packages"]["torch"].startswith("2.") and data["devices"]["cpu"] >= 1
    assert data["models_dir"] == str(tmp_path)
    assert data["backends"]["detector ssdlite"].startswith("ready")
    assert all(data["backends"][k].startswith("ready") for k in ("detector nanodet", "grounder coco", "feature traits"))
    assert "refcli models pull rex-thinker-7b" in data["backends"]["referrer vlm"]
    assert "REFCLI_REXSEEK_PYTHON" in data["backends"]["referrer rexseek"]
    text = runner.invoke(app, ["doctor"]).stdout
    assert "referrer rexseek" in text and "devices: cpu" in text


def test_models_list_and_path(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REFCLI_MODELS", str(tmp_path))
    (tmp_path / "qwen2.5-vl-3b").mkdir()
    (tmp_path / "qwen2.5-vl-3b" / "config.json").write_text("{}")
    models = json.loads(runner.invoke(app, ["models", "list", "--json"]).stdout)
    assert models["qwen2.5-vl-3b"]["installed"] and not models["rex-thinker-7b"]["installed"]
    assert runner.invoke(app, ["models", "path", "rex-thinker-7b"]).stdout.strip() == str(tmp_path / "rex-thinker-7b")


def test_pull_without_a_network_is_a_clear_error(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REFCLI_MODELS", str(tmp_path))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: fails at once, downloads nothing
    monkeypatch.setenv("HF_HUB_ETAG_TIMEOUT", "2")
    result = runner.invoke(app, ["models", "pull", "grounding-dino-tiny"])
    assert result.exit_code == 4 and "cannot download IDEA-Research/grounding-dino-tiny" in result.stderr
    unknown = runner.invoke(app, ["models", "pull", "gpt-5"])
    assert unknown.exit_code == 4 and "unknown model" in unknown.stderr


@pytest.mark.parametrize(("text", "indexes", "warned"), [
    ("<ground>person in red</ground><objects><obj1><obj3></objects>", [1, 3], False),
    ("<ground> person </ground> <objects> <obj0> </objects><|im_end|>", [0], False),
    ("<ground>x</ground><objects><obj2><obj2><obj7></objects>", [2], True),  # repeat once, 7 out of range
    ("There is no such thing in this image.", [], False),
    ("I don't know", [], True),
])
def test_parse_rexseek(text: str, indexes: list[int], warned: bool) -> None:
    chosen, notes = parse_rexseek(text, 5)
    assert chosen == indexes and bool(notes) == warned


def test_rexseek_says_what_it_needs(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REFCLI_MODELS", str(tmp_path))
    monkeypatch.setenv("REFCLI_REXSEEK_PYTHON", str(tmp_path / "nope" / "python"))
    monkeypatch.delenv("REFCLI_REXSEEK_REPO", raising=False)
    missing = requirements()
    assert len(missing) == 3 and "is not an executable" in missing[0]
