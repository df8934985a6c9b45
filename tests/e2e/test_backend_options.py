"""The one factory of referrers and grounders (refcli.query.backends): an option a backend does not
take is a one-line usage error naming both, wherever the backend is built; export runs its query
with the same options as find."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from refcli.cli.app import app
from refcli.errors import BackendError, UsageError
from refcli.ground import Found, Grounder, Image, create_grounder, grounders
from refcli.ground.coco import COCOGrounder
from refcli.query import ReferrerSettings, build_grounder, build_referrer
from refcli.refer import create_referrer

runner = CliRunner()


class WholeImageGrounder(Grounder):
    """Finds the phrase's thing filling every image: everyone is "near" it."""

    name: ClassVar[str] = "test-whole"
    images = 0

    def __init__(self, model: str | None = None, device: str = "auto") -> None:
        self.model, self.device = model, device

    @property
    def version(self) -> str:
        return "whole-image-1"

    def ground(self, images: Sequence[Image], phrase: str) -> list[Found]:
        WholeImageGrounder.images += len(images)
        return [[([0.0, 0.0, float(image.shape[1]), float(image.shape[0])], 0.9)] for image in images]


class ModellessGrounder(WholeImageGrounder):
    name: ClassVar[str] = "test-modelless"

    def __init__(self) -> None:
        super().__init__()


grounders.register("test-whole", "test_backend_options:WholeImageGrounder")
grounders.register("test-modelless", "test_backend_options:ModellessGrounder")


@pytest.mark.parametrize(("settings", "message"), [
    (ReferrerSettings("embedded", model="m"), "the embedded backend does not take --model (it is for the rexseek "
                                              "and vlm backends)"),
    (ReferrerSettings("embedded", prompt="marks"), "the embedded backend does not take --vlm-prompt (it is for "
                                                   "the vlm backend)"),
    (ReferrerSettings("all-persons", model="m"), "the all-persons backend does not take --model (it is for the "
                                                 "rexseek and vlm backends)"),
    (ReferrerSettings("vlm", ignore_unsupported=True), "the vlm backend does not take --ignore-unsupported (it is "
                                                       "for the embedded backend)"),
])
def test_an_option_the_referrer_does_not_take_is_a_usage_error(settings: ReferrerSettings, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        build_referrer(settings)
    assert str(caught.value) == message


def test_implicit_options_device_and_gallery_go_only_where_taken() -> None:
    # a model from REFCLI_VLM_MODEL, the default prompt: not asked for, so no error for embedded
    embedded = build_referrer(ReferrerSettings("embedded", model="m", prompt="rex-thinker", device="cuda",
                                               gallery={"Ann": [[0.0] * 128]}, implicit=frozenset({"model", "prompt"})))
    assert embedded.name == "embedded" and list(embedded.gallery) == ["ann"]  # type: ignore[attr-defined]
    vlm = build_referrer(ReferrerSettings("vlm", model="m", prompt="marks", device="cpu", gallery={"Ann": []},
                                          implicit=frozenset({"model"})))
    assert (vlm.model_name, vlm.prompt, vlm.device_name) == ("m", "marks", "cpu")  # type: ignore[attr-defined]


def test_an_unknown_backend_is_named_before_its_options() -> None:
    with pytest.raises(BackendError, match="unknown referrer 'nope'"):
        build_referrer(ReferrerSettings("nope", model="m"))
    with pytest.raises(BackendError, match="unknown object grounder 'nope'"):
        build_grounder(ReferrerSettings(grounder="nope", grounder_model="m"))


def test_grounder_settings() -> None:
    assert isinstance(build_grounder(ReferrerSettings()), COCOGrounder)  # the embedded one, by default
    assert build_grounder(ReferrerSettings("all-persons")) is None  # a backend that grounds nothing
    built = build_grounder(ReferrerSettings(grounder="test-whole", grounder_model="m", device="cpu"))
    assert isinstance(built, WholeImageGrounder) and (built.model, built.device) == ("m", "cpu")
    assert isinstance(build_grounder(ReferrerSettings(grounder="test-modelless", device="cpu")), ModellessGrounder)
    with pytest.raises(UsageError, match="^the test-modelless object grounder does not take --grounder-model$"):
        build_grounder(ReferrerSettings(grounder="test-modelless", grounder_model="m"))
    with pytest.raises(UsageError, match="^--grounder-model is the model of an object grounder: give --grounder too"):
        build_grounder(ReferrerSettings(grounder_model="m"))
    assert isinstance(build_grounder(ReferrerSettings(grounder_model="m", implicit=frozenset({"grounder_model"}))),
                      COCOGrounder)  # a model from the environment is for the grounder that takes one
    assert build_grounder(ReferrerSettings(grounder="none")) is None


def test_registry_create_refuses_options_instead_of_dropping_them() -> None:
    with pytest.raises(UsageError, match=r"^the embedded referrer does not take the option 'model' "
                                         r"\(referrers that do: rexseek, vlm\)$"):
        create_referrer("embedded", model="m")
    with pytest.raises(UsageError, match="the test-modelless object grounder does not take the option 'device'"):
        create_grounder("test-modelless", device="cpu")
    assert create_referrer("embedded", model=None).name == "embedded"  # None: not given


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> str:
    root = tmp_path_factory.mktemp("options")
    (root / "media").mkdir()
    shutil.copy(data_dir / "messi5.jpg", root / "media" / "messi5.jpg")
    result = runner.invoke(app, ["index", str(root / "media"), "--db", str(root / "db")])
    assert result.exit_code == 0, result.output
    return str(root / "db")


@pytest.mark.parametrize(("argv", "message"), [
    (["find", "person", "--model", "m"], "the embedded backend does not take --model"),
    (["find", "person", "--vlm-prompt", "marks"], "the embedded backend does not take --vlm-prompt"),
    (["find", "person", "--backend", "vlm", "--ignore-unsupported"], "the vlm backend does not take "
                                                                      "--ignore-unsupported"),
    (["find", "person", "--grounder-model", "m"], "--grounder-model is the model of an object grounder"),
    (["find", "person", "--grounder", "test-modelless", "--grounder-model", "m"],
     "the test-modelless object grounder does not take --grounder-model"),
    (["export", "person", "--clips", "CLIPS", "--model", "m"], "the embedded backend does not take --model"),
    (["export", "person", "--clips", "CLIPS", "--backend", "all-persons", "--vlm-prompt", "marks"],
     "the all-persons backend does not take --vlm-prompt"),
    (["find", "person", "--backend", "all-persons", "--grounder", "test-modelless"],
     "the all-persons backend does not use an object grounder: --grounder is for the embedded backend"),
])
def test_cli_option_the_backend_does_not_take_exits_2(db: str, tmp_path: Path, argv: list[str], message: str) -> None:
    argv = [str(tmp_path / "clips") if a == "CLIPS" else a for a in argv]
    result = runner.invoke(app, [*argv, "--db", db])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"refcli: error: {message}") and result.stderr.count("\n") == 1
    assert not (tmp_path / "clips").exists() or not any((tmp_path / "clips").iterdir())


def test_eval_option_the_backend_does_not_take_exits_2(data_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "humanref", "--annotations", str(data_dir / "humanref_mini" /
                                                                          "annotations.jsonl"),
                                 "--images", str(data_dir), "--out", str(tmp_path / "p.jsonl"), "--model", "m"])
    assert result.exit_code == 2 and "the embedded backend does not take --model" in result.stderr
    assert not (tmp_path / "p.jsonl").exists()


def test_options_from_the_environment_or_defaults_are_no_error(db: str, data_dir: Path, tmp_path: Path) -> None:
    env = {"REFCLI_VLM_MODEL": "some-vlm", "REFCLI_GROUNDER_MODEL": "some-grounder", "REFCLI_GROUNDER": "test-whole",
           "REFCLI_DETECTOR_MODEL": "some-detector"}
    result = runner.invoke(app, ["find", "person", "--db", db, "--json", "--device", "cpu",
                                 "--backend", "all-persons"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total"] >= 1
    (tmp_path / "media").mkdir()
    shutil.copy(data_dir / "messi5.jpg", tmp_path / "media")
    result = runner.invoke(app, ["index", str(tmp_path / "media"), "--db", str(tmp_path / "db"), "--json"], env=env)
    assert result.exit_code == 0, result.output  # hf's model in the environment: not the ssdlite detector's


def test_a_detector_model_for_a_detector_without_one_exits_2(tmp_path: Path, data_dir: Path) -> None:
    (tmp_path / "media").mkdir()
    shutil.copy(data_dir / "messi5.jpg", tmp_path / "media")
    result = runner.invoke(app, ["index", str(tmp_path / "media"), "--db", str(tmp_path / "db"),
                                 "--detector-model", "some-model"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("refcli: error: the ssdlite detector takes no model: --detector-model is for hf")
    result = runner.invoke(app, ["status", "--db", str(tmp_path / "db"), "--json"])
    status = json.loads(result.stdout)
    assert status["files"] == 0 and status["index_settings"] is None  # nothing done with settings it would ignore


def test_export_runs_its_query_with_a_grounder(db: str, tmp_path: Path) -> None:
    help_text = runner.invoke(app, ["export", "--help"]).stdout
    for option in ("--model", "--vlm-prompt", "--device", "--grounder", "--grounder-model", "--ignore-unsupported"):
        assert option in help_text
    query = "the person near a fountain"  # not a COCO thing: the embedded grounder leaves it
    without = json.loads(runner.invoke(app, ["export", query, "--db", db, "--clips", str(tmp_path / "none"),
                                             "--json"]).stdout)
    assert without["files"] == [] and "--grounder" in without["unsupported"][0]
    before = WholeImageGrounder.images
    result = runner.invoke(app, ["export", query, "--db", db, "--clips", str(tmp_path / "clips"), "--json",
                                 "--grounder", "test-whole", "--grounder-model", "m", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    exported = json.loads(result.stdout)
    assert exported["unsupported"] == [] and exported["total"] >= 1 and WholeImageGrounder.images > before
    assert all(Path(f["path"]).is_file() and f["error"] is None for f in exported["files"])
    found = json.loads(runner.invoke(app, ["find", query, "--db", db, "--json", "--grounder", "test-whole"]).stdout)
    assert [h["id"] for h in found["hits"]] == [f["hit"] for f in exported["files"]]
    relaxed = json.loads(runner.invoke(app, ["export", query, "--db", db, "--clips", str(tmp_path / "relaxed"),
                                             "--json", "--ignore-unsupported"]).stdout)
    assert relaxed["unsupported"] == [] and len(relaxed["files"]) == relaxed["total"] >= 1
