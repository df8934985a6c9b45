"""The words people use, on real photos with the models inside refcli: who a person is (man,
woman, smiling) from their face, and the everyday things they have from the COCO detector."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from refcli.cli.app import app
from refcli.detect import create_detector
from refcli.features.face_traits import FaceReader, FaceTraits
from refcli.ground.coco import COCOGrounder, read_phrase
from refcli.io.image import load_image

runner = CliRunner()


def cli(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def person_box(image: np.ndarray) -> list[float]:
    found = create_detector("ssdlite").detect([image])[0]
    return found.xyxy[int(np.argmax(found.confidence))].tolist()


@pytest.mark.parametrize(("name", "gender", "expression"), [
    ("obama.jpg", "male", None), ("obama3.jpg", "male", "happy"), ("biden.jpg", "male", None),
    ("astronaut.jpg", "female", "happy"),
])
def test_faces_on_real_portraits(data_dir: Path, name: str, gender: str, expression: str | None) -> None:
    """Gender on four real portraits, with a clear margin; the smiles where there are smiles."""
    image = load_image(str(data_dir / name))
    traits = FaceTraits.of(FaceReader().read(image, person_box(image)))
    assert traits is not None, "no face read"
    assert traits.holds("gender", frozenset({gender})) is True
    assert traits.holds("age", frozenset({"young adult", "adult", "senior"})) is True
    if expression is not None:
        assert traits.holds("expression", frozenset({expression})) is True


def test_no_face_is_read_where_none_can_be_seen(data_dir: Path) -> None:
    image = load_image(str(data_dir / "messi5.jpg"))
    reader = FaceReader()
    assert reader.read(image, [0, 0, 40, 60]) is None  # too small to show a face
    assert reader.read(np.zeros((480, 640, 3), np.uint8), [100, 50, 300, 450]) is None  # nobody there


def test_the_coco_detector_finds_the_ball(data_dir: Path) -> None:
    image = load_image(str(data_dir / "messi5.jpg"))
    grounder = COCOGrounder()
    balls = grounder.ground([image], "ball")[0]
    assert len(balls) == 1 and balls[0][1] >= 0.5
    x1, y1, x2, y2 = balls[0][0]
    assert 330 < (x1 + x2) / 2 < 390 and 280 < (y1 + y2) / 2 < 340  # the ball at his feet (measured 361, 311)
    assert grounder.ground([image], "teddy bear")[0] == []


def test_common_words_name_coco_things() -> None:
    assert read_phrase("mobile phone") == (("cell phone",), ())
    assert read_phrase("yellow sofas") == (("couch",), ("yellow",))
    assert read_phrase("cup of coffee") == (("cup",), ())
    assert read_phrase("football") == (("sports ball",), ())
    assert read_phrase("microphone") is None and read_phrase("glasses") is None  # not COCO things


@pytest.fixture(scope="module")
def photos_db(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> str:
    root = tmp_path_factory.mktemp("everyday")
    (root / "photos").mkdir()
    for name in ("obama3.jpg", "biden.jpg", "astronaut.jpg", "messi5.jpg"):
        shutil.copy(data_dir / name, root / "photos" / name)
    cli("index", str(root / "photos"), "--db", str(root / "db"))
    return str(root / "db")


def files_of(found: dict) -> set[str]:
    return {Path(hit["path"]).name for hit in found["hits"]}


def test_find_the_woman_and_the_men(photos_db: str) -> None:
    assert files_of(cli("find", "the woman", "--db", photos_db)) == {"astronaut.jpg"}
    men = cli("find", "men", "--db", photos_db)
    assert {"obama3.jpg", "biden.jpg"} <= files_of(men) and "astronaut.jpg" not in files_of(men)
    assert files_of(cli("find", "the smiling woman", "--db", photos_db)) == {"astronaut.jpg"}
    assert cli("find", "women who are not smiling", "--db", photos_db)["hits"] == []
    assert cli("find", "the girl", "--db", photos_db)["hits"] == []  # rejected after looking, not unsupported
    assert cli("find", "the girl", "--db", photos_db)["unsupported"] == []


def test_find_the_person_with_the_ball(photos_db: str) -> None:
    found = cli("find", "the person with a ball", "--db", photos_db)
    assert files_of(found) == {"messi5.jpg"} and found["unsupported"] == []
    assert cli("find", "the person holding a teddy bear", "--db", photos_db)["hits"] == []
    unknown = cli("find", "the person holding a microphone", "--db", photos_db)
    assert unknown["hits"] == [] and "--grounder owlv2" in unknown["unsupported"][0]
