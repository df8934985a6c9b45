"""Clothing colours: naming in LAB, measured at index time, judged by find; grayscale claims nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from refcli.cli.app import app
from refcli.features.colors import COLOURS, clothing_colours, colour_word, is_grayscale, name_pixels, srgb_to_lab
from refcli.io.image import load_image
from refcli.io.video import sample_video

runner = CliRunner()


@pytest.mark.parametrize(("rgb", "name"), [
    ((200, 30, 30), "red"), ((110, 20, 30), "red"), ((20, 30, 90), "blue"), ((40, 80, 200), "blue"),
    ((150, 190, 230), "blue"), ((40, 150, 50), "green"), ((110, 110, 40), "green"), ((230, 210, 40), "yellow"),
    ((240, 140, 30), "orange"), ((110, 70, 40), "brown"), ((240, 150, 180), "pink"), ((120, 50, 150), "purple"),
    ((20, 20, 25), "black"), ((128, 128, 128), "gray"), ((240, 240, 240), "white"), ((70, 90, 130), "blue"),
])
def test_colour_names(rgb: tuple[int, int, int], name: str) -> None:
    assert COLOURS[name_pixels(srgb_to_lab(np.array([rgb], np.uint8)))[0]] == name


def test_synonyms_map_to_the_vocabulary() -> None:
    assert [colour_word(w) for w in ("crimson", "navy", "grey", "olive", "beige", "violet", "teal", "car")] == \
        ["red", "blue", "gray", "green", "brown", "purple", "blue", None]


def test_real_people_clothes(data_dir: Path, people: dict) -> None:
    """Clothes checked by eye on crops (tests/data/humanref_mini/make.py lists them)."""
    frame = {s.time: s.image for s in sample_video(str(data_dir / "vtest_4s.mp4"), 2.0)}[2.0]
    boxes = people["vtest_4s.mp4"]["2.0"]
    woman_in_red, blue_jacket, grass_woman = boxes[2], boxes[5], boxes[6]
    assert clothing_colours(frame, woman_in_red)["upper"].get("red", 0) > 0.4
    assert clothing_colours(frame, blue_jacket)["upper"].get("blue", 0) > 0.8
    measured = clothing_colours(frame, grass_woman)  # black coat, standing on grass
    assert measured["upper"].get("black", 0) > 0.7 and measured["lower"].get("green", 0) < 0.2


def test_grayscale_pictures_claim_no_colours(data_dir: Path) -> None:
    camera = load_image(str(data_dir / "camera.png"))
    assert is_grayscale(camera) and clothing_colours(camera, [1, 67, 301, 512]) is None
    assert not is_grayscale(load_image(str(data_dir / "messi5.jpg")))


def test_find_by_clothes_after_indexing(tmp_path: Path, data_dir: Path) -> None:
    root = tmp_path / "media"
    root.mkdir()
    shutil.copy(data_dir / "vtest_4s.mp4", root)
    shutil.copy(data_dir / "camera.png", root)
    db = str(tmp_path / "db")
    assert runner.invoke(app, ["index", str(root), "--db", db]).exit_code == 0

    def find(query: str) -> dict:
        result = runner.invoke(app, ["find", query, "--db", db, "--json", "--limit", "0"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    red = find("people in red")
    assert red["unsupported"] == [] and 1 <= red["total"] <= 4 and all(h["kind"] == "video" for h in red["hits"])
    assert find("the person in a yellow jacket")["total"] == 0  # nobody: an empty answer, not an abstention
    assert find("the person in a black coat")["total"] >= 1
    assert all(h["kind"] == "video" for h in find("the person in a black coat")["hits"])  # grayscale: no claim
    assert [h["kind"] for h in find("person")["hits"]].count("image") == 1
