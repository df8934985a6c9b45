"""Named people: dlib face embeddings on real portraits, the gallery commands, find by name."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("dlib", reason="the faces extra is not installed")

from refcli.cli.app import app  # noqa: E402
from refcli.features.faces import SAME_PERSON_DISTANCE, FaceEncoder, distance  # noqa: E402
from refcli.io.image import load_image  # noqa: E402

runner = CliRunner()


def cli(*args: str, ok: bool = True):
    result = runner.invoke(app, list(args))
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_the_published_threshold_separates_these_people(data_dir: Path) -> None:
    encoder = FaceEncoder()
    faces = {name: encoder.faces(load_image(str(data_dir / name))) for name in
             ("obama.jpg", "obama3.jpg", "biden.jpg", "astronaut.jpg")}
    assert all(found for found in faces.values())
    emb = {name: found[0].embedding for name, found in faces.items()}  # the largest face
    assert distance(emb["obama.jpg"], emb["obama3.jpg"]) < SAME_PERSON_DISTANCE  # measured 0.32
    for other in ("biden.jpg", "astronaut.jpg"):
        for obama in ("obama.jpg", "obama3.jpg"):
            assert distance(emb[obama], emb[other]) > SAME_PERSON_DISTANCE  # measured 0.82-0.88


@pytest.fixture()
def portraits(tmp_path: Path, data_dir: Path) -> Path:
    root = tmp_path / "portraits"
    root.mkdir()
    for name in ("obama3.jpg", "biden.jpg", "astronaut.jpg", "messi5.jpg"):
        shutil.copy(data_dir / name, root / name)
    return root


def test_find_by_name_needs_a_gallery_and_indexed_faces(portraits: Path, tmp_path: Path, data_dir: Path) -> None:
    db = str(tmp_path / "db")
    cli("index", str(portraits), "--db", db)
    found = json.loads(cli("find", "Barack Obama", "--db", db, "--json").stdout)
    assert found["hits"] == [] and found["unsupported"] == ["barack obama"]  # not in the gallery yet
    cli("faces", "add", "Barack Obama", str(data_dir / "obama.jpg"), "--db", db)
    assert "Barack Obama\t1 photo" in cli("faces", "list", "--db", db).stdout
    found = json.loads(cli("find", "Barack Obama", "--db", db, "--json").stdout)
    assert found["hits"] == [] and "not indexed" in found["unsupported"][0]  # indexed without --faces
    summary = json.loads(cli("index", str(portraits), "--db", db, "--faces", "--json").stdout)
    assert summary["updated"] == 4  # faces are part of the pipeline signature
    found = json.loads(cli("find", "Barack Obama", "--db", db, "--json").stdout)
    assert [Path(h["path"]).name for h in found["hits"]] == ["obama3.jpg"]  # and nobody else
    assert json.loads(cli("find", "the person in a black suit", "--db", db, "--json").stdout)["total"] >= 1


def test_gallery_remove_and_forget(portraits: Path, tmp_path: Path, data_dir: Path) -> None:
    db = str(tmp_path / "db")
    cli("faces", "add", "Barack Obama", str(data_dir / "obama.jpg"), str(data_dir / "obama3.jpg"), "--db", db)
    cli("faces", "add", "Joe Biden", str(data_dir / "biden.jpg"), "--db", db)
    cli("index", str(portraits), "--db", db, "--faces")
    assert [Path(h["path"]).name for h in json.loads(cli("find", "Joe Biden", "--db", db, "--json").stdout)["hits"]] \
        == ["biden.jpg"]
    cli("faces", "remove", "Joe Biden", "--db", db)
    assert json.loads(cli("find", "Joe Biden", "--db", db, "--json").stdout)["unsupported"] == ["joe biden"]
    gone = cli("faces", "remove", "Joe Biden", "--db", db, ok=False)
    assert gone.exit_code == 1 and "is not in the gallery" in gone.stderr
    result = cli("faces", "forget", "--db", db, "--yes")
    assert "deleted 2 gallery photos" in result.stdout
    assert cli("faces", "list", "--db", db).stdout == ""
    from refcli.features.faces import faces_indexed
    from refcli.store import Store

    store = Store.open(db)
    assert not faces_indexed(store) and store.gallery.embeddings() == {}


def test_a_photo_without_a_face_adds_nothing(tmp_path: Path, data_dir: Path) -> None:
    blank = tmp_path / "blank.jpg"
    from PIL import Image

    Image.new("RGB", (200, 200), (120, 120, 120)).save(blank)
    result = cli("faces", "add", "Nobody", str(blank), "--db", str(tmp_path / "db"), ok=False)
    assert result.exit_code == 1 and "no face found" in result.stderr
