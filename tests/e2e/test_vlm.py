"""The vlm referrer with a tiny Qwen2.5-VL trained here to answer one candidate: find must return
exactly that person (a random model's garbage would pass a "no hit" test whatever the code does)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from tinyvlm import build_tiny_vlm
from typer.testing import CliRunner

from refcli.cli.app import app
from refcli.devices import pick_device, run_in_batches
from refcli.errors import BackendError
from refcli.features import Measured
from refcli.features.colors import ClothingColours
from refcli.index import IndexOptions, run_index
from refcli.query.assembly import frame_requests
from refcli.refer import ReferRequest, create_referrer
from refcli.refer.groups import refer_in_groups, split_groups
from refcli.refer.vlm import VLMReferrer, parse_marks, parse_rex_thinker
from refcli.store import Store

runner = CliRunner()
QUERY = "the person we trained on"
TARGET = 2  # the candidate the model learns to answer


@pytest.fixture(scope="module")
def archive(tmp_path_factory, data_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("vlm")
    (root / "media").mkdir()
    shutil.copy(data_dir / "humanref_mini" / "vtest_2.0.jpg", root / "media" / "plaza.jpg")
    store = Store.open(str(root / "db"), create=True)
    with store.writer():
        run_index([str(root / "media")], store, IndexOptions())
    return root


def train(model_dir: Path, archive: Path, prompt: str) -> list[float]:
    """Train the tiny model on the exact request `find` will build; returns the target's box."""
    referrer = VLMReferrer(model=str(model_dir), prompt=prompt, device="cpu")
    store = Store.open(str(archive / "db"))
    (item,) = next(iter(frame_requests(store, QUERY, 0.3, None, referrer)))
    request = item.request
    prompt_inputs, boxes = referrer.encode([request])
    answer = (f"<answer>[{TARGET + 1}]</answer>" if prompt == "marks"
              else f"<think>it is them</think><answer>[{{\"bbox_2d\": {boxes[0][TARGET]}}}]</answer>")
    inputs, _ = referrer.encode([request], [answer])
    labels = inputs["input_ids"].clone()
    labels[:, :prompt_inputs["input_ids"].shape[1]] = -100  # learn the answer, not the prompt
    _, _, model, _ = referrer._parts
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for step in range(400):
        model(**inputs, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step % 25 == 24:
            model.eval()
            ((text, _),) = referrer.generate([request])
            model.train()
            if text.strip() == answer:
                break
    else:
        raise AssertionError("the tiny model did not learn its answer in 400 steps")
    model.eval()
    model.save_pretrained(model_dir)
    return item.people[TARGET].box


@pytest.mark.parametrize("prompt", ["marks", "rex-thinker"])
def test_find_returns_exactly_the_person_the_model_names(archive: Path, tmp_path: Path, prompt: str) -> None:
    model_dir = build_tiny_vlm(tmp_path / "model")
    target = train(model_dir, archive, prompt)
    args = ["find", QUERY, "--db", str(archive / "db"), "--backend", "vlm", "--model", str(model_dir),
            "--vlm-prompt", prompt, "--device", "cpu", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["total"] == 1 and found["warnings"] == [] and found["frames_judged"] == 1
    (hit,) = found["hits"]
    assert hit["box"] == pytest.approx(target, abs=0.1)
    again = json.loads(runner.invoke(app, args).stdout)  # answered from the cache this time
    assert again["hits"] == found["hits"]
    assert Store.open(str(archive / "db"))._table("verified").count_rows() >= 1


def test_an_untrained_model_gives_warnings_not_crashes(archive: Path, tmp_path: Path) -> None:
    model_dir = build_tiny_vlm(tmp_path / "random", seed=3)
    result = runner.invoke(app, ["find", QUERY, "--db", str(archive / "db"), "--backend", "vlm", "--model",
                                 str(model_dir), "--vlm-prompt", "marks", "--device", "cpu", "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["total"] == 0 and found["warnings"] and "no <answer>" in found["warnings"][0]


def test_a_missing_model_says_how_to_get_one(archive: Path) -> None:
    result = runner.invoke(app, ["find", QUERY, "--db", str(archive / "db"), "--backend", "vlm", "--model",
                                 "rex-thinker-7b"])
    assert result.exit_code == 4 and "refcli models pull rex-thinker-7b" in result.stderr


@pytest.mark.parametrize(("text", "indexes", "warned"), [
    ("<answer>[2, 4]</answer>", [1, 3], False),
    ("<think>hmm</think><answer>[4, 2, 2]</answer>", [1, 3], False),  # repeats count once
    ("<answer>[0, 3, 9]</answer>", [2], True),  # out of range: warned, skipped
    ("<answer>None</answer>", [], False),
    ("I think it is 2", [], True),  # no answer tag: no guess
    ("", [], True),
])
def test_parse_marks(text: str, indexes: list[int], warned: bool) -> None:
    chosen, notes = parse_marks(text, 5)
    assert chosen == indexes and bool(notes) == warned


def test_parse_rex_thinker_maps_boxes_to_candidates() -> None:
    candidates = [[0, 0, 10, 20], [30, 0, 40, 20], [60, 0, 70, 20]]
    answer = '<think>..</think><answer>```json\n[{"bbox_2d": [31, 1, 40, 19], "label": "person"}, ' \
             '{"bbox_2d": [0, 0, 10, 20]}, {"bbox_2d": [100, 100, 120, 130]}]\n```</answer>'
    chosen, notes = parse_rex_thinker(answer, candidates)
    assert chosen == [0, 1] and len(notes) == 1 and "matches no candidate" in notes[0]
    assert parse_rex_thinker("<answer>None</answer>", candidates) == ([], [])
    assert parse_rex_thinker("[[0, 0, 10, 20]]", candidates)[0] == []  # no tag, no hit


def test_crowds_are_split_into_overlapping_groups() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 3000, 250)
    boxes = np.stack([x, np.full(250, 100.0), x + 30, np.full(250, 180.0)], axis=1).astype(np.float32)
    groups = split_groups(boxes, 100, 10)
    assert all(len(g) <= 100 for g in groups) and set().union(*map(set, groups)) == set(range(250))
    assert all(len(set(a) & set(b)) == 10 for a, b in zip(groups, groups[1:]))
    colours = [Measured({"colours": ClothingColours({"red" if i % 7 == 0 else "blue": 0.8}, {})}) for i in range(250)]
    request = ReferRequest("people in red", boxes, np.full(250, 0.9, np.float32), (3100, 600), features=colours)
    referrer = create_referrer("embedded")
    direct = referrer.refer([request])[0]
    grouped = refer_in_groups(referrer.refer, [request], max_size=40, overlap=8)[0]
    assert grouped.indexes == direct.indexes and len(direct.indexes) == 36


def test_out_of_memory_halves_the_batch() -> None:
    sizes: list[int] = []

    def fn(chunk):
        if len(chunk) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return [item * 10 for item in chunk]

    assert run_in_batches(fn, list(range(11)), 8, on_shrink=sizes.append) == [i * 10 for i in range(11)]
    assert sizes == [4, 2]
    with pytest.raises(BackendError, match="does not fit in memory even one request"):
        run_in_batches(lambda chunk: (_ for _ in ()).throw(torch.OutOfMemoryError("oom")), [1], 1)


def test_device_choice() -> None:
    assert pick_device("cpu") == "cpu"
    assert pick_device("auto") in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(BackendError, match="no CUDA device"):
            pick_device("cuda")


def test_cache_writes_do_not_wait_for_a_running_index(archive: Path, tmp_path: Path) -> None:
    model_dir = build_tiny_vlm(tmp_path / "model", seed=5)
    store = Store.open(str(archive / "db"))
    before = store._table("verified").count_rows()
    args = ["find", "someone else", "--db", str(archive / "db"), "--backend", "vlm", "--model", str(model_dir),
            "--vlm-prompt", "marks", "--device", "cpu", "--json"]
    writer = Store.open(str(archive / "db"))
    with writer.writer():  # a nightly index holds the lock
        result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    warned = json.loads(result.stdout)["warnings"]
    # an untrained model's garbage is not cached (only clean answers are); a clean one would be
    assert Store.open(str(archive / "db"))._table("verified").count_rows() == before + (0 if warned else 1)
