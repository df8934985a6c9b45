"""`refcli people` on real portraits: faces indexed with --faces grouped into people across files
and scans, named once and found by name everywhere, merged and forgotten."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("dlib", reason="the faces extra is not installed")

from refcli.cli.app import app  # noqa: E402

runner = CliRunner()


def cli(*args: str, ok: bool = True):
    result = runner.invoke(app, list(args))
    if ok:
        assert result.exit_code == 0, result.output + str(result.exception)
    return result


def people(db: str, *extra: str) -> dict:
    return json.loads(cli("people", "--db", db, "--json", *extra).stdout)


def files(person: dict) -> set[str]:
    return {Path(p).name for p in person["files"]}


def found(db: str, query: str) -> set[str]:
    return {Path(h["path"]).name for h in json.loads(cli("find", query, "--db", db, "--json").stdout)["hits"]}


@pytest.fixture()
def archive(tmp_path: Path, data_dir: Path) -> tuple[Path, str]:
    """A folder with one portrait of Obama, Biden and the astronaut, indexed with faces."""
    root = tmp_path / "photos"
    root.mkdir()
    for name in ("obama.jpg", "biden.jpg", "astronaut.jpg"):
        shutil.copy(data_dir / name, root / name)
    db = str(tmp_path / "db")
    cli("index", str(root), "--db", db, "--faces")
    return root, db


def test_people_are_grouped_across_files_and_scans(archive: tuple[Path, str], data_dir: Path) -> None:
    root, db = archive
    first = people(db)
    assert first["people"] == []  # everyone seen once: nobody to list yet
    alone = {files(p).pop(): p["id"] for p in people(db, "--min-faces", "1")["people"]}
    assert set(alone) == {"obama.jpg", "biden.jpg", "astronaut.jpg"}
    for name in ("obama2.jpg", "obama3.jpg"):  # a later scan brings two more photos of Obama
        shutil.copy(data_dir / name, root / name)
    cli("index", str(root), "--db", db, "--faces")
    later = people(db)
    assert [files(p) for p in later["people"]] == [{"obama.jpg", "obama2.jpg", "obama3.jpg"}]
    assert later["people"][0]["id"] == alone["obama.jpg"]  # the new faces joined him: his id stays
    assert later["people"][0]["appearances"] == 3 and later["new"] == []
    assert people(db) == {**later, "new": [], "merged": []}  # nothing new: the same answer


def test_a_named_person_is_found_everywhere_without_reindexing(archive: tuple[Path, str], data_dir: Path) -> None:
    root, db = archive
    shutil.copy(data_dir / "obama3.jpg", root / "obama3.jpg")
    cli("index", str(root), "--db", db, "--faces")
    obama = people(db)["people"][0]
    assert found(db, "Barack Obama") == set()
    cli("people", "name", str(obama["id"]), "Barack Obama", "--db", db)
    assert found(db, "Barack Obama") == {"obama.jpg", "obama3.jpg"}
    assert found(db, "Barack Obama on the left") <= {"obama.jpg", "obama3.jpg"}
    shutil.copy(data_dir / "obama2.jpg", root / "obama2.jpg")  # a later scan, not grouped yet
    cli("index", str(root), "--db", db, "--faces")
    assert found(db, "Barack Obama") == {"obama.jpg", "obama2.jpg", "obama3.jpg"}
    taken = cli("people", "name", str(people(db, "--min-faces", "1")["people"][-1]["id"]), "barack obama",
                "--db", db, ok=False)
    assert taken.exit_code == 1 and "already names person" in taken.stderr


def test_merge_and_forget(archive: tuple[Path, str]) -> None:
    _, db = archive
    everyone = {files(p).pop(): p["id"] for p in people(db, "--min-faces", "1")["people"]}
    cli("people", "merge", str(everyone["obama.jpg"]), str(everyone["biden.jpg"]), "--db", db)
    merged = people(db)["people"]
    assert [files(p) for p in merged] == [{"obama.jpg", "biden.jpg"}] and merged[0]["id"] == everyone["obama.jpg"]
    result = cli("people", "forget", str(everyone["obama.jpg"]), "--db", db, "--yes")
    assert "2 face embeddings deleted" in result.stdout
    left = people(db, "--min-faces", "1")["people"]
    assert [files(p) for p in left] == [{"astronaut.jpg"}]
    missing = cli("people", "forget", str(everyone["obama.jpg"]), "--db", db, "--yes", ok=False)
    assert missing.exit_code == 1 and "there is no person" in missing.stderr
    cli("faces", "forget", "--db", db, "--yes")  # the privacy switch takes the people with the faces
    assert cli("people", "--db", db, ok=False).exit_code == 1


def test_people_need_faces_indexed(tmp_path: Path, data_dir: Path) -> None:
    root = tmp_path / "photos"
    root.mkdir()
    shutil.copy(data_dir / "obama.jpg", root / "obama.jpg")
    db = str(tmp_path / "db")
    cli("index", str(root), "--db", db)
    result = cli("people", "--db", db, ok=False)
    assert result.exit_code == 1 and "--faces" in result.stderr and "Traceback" not in result.output


def test_find_like_a_hit_answers_every_appearance(archive: tuple[Path, str], data_dir: Path) -> None:
    root, db = archive
    for name in ("obama2.jpg", "obama3.jpg", "messi5.jpg"):
        shutil.copy(data_dir / name, root / name)
    cli("index", str(root), "--db", db, "--faces")
    hits = json.loads(cli("find", "person", "--db", db, "--json", "--limit", "0").stdout)["hits"]
    by_file = {Path(h["path"]).name: h["id"] for h in hits}
    like = json.loads(cli("find", "--like", by_file["obama2.jpg"], "--db", db, "--json").stdout)
    assert {Path(h["path"]).name for h in like["hits"]} == {"obama.jpg", "obama2.jpg", "obama3.jpg"}
    cli("people", "--db", db)  # grouped: the person's faces join the hit's own
    assert found(db, f"the same person as {by_file['biden.jpg']}") == {"biden.jpg"}
    assert found(db, f"the person in red who is the same person as {by_file['obama.jpg']}") <= {
        "obama.jpg", "obama2.jpg", "obama3.jpg"}
    faceless = cli("find", "--like", by_file["messi5.jpg"], "--db", db, ok=False)  # his face is turned down
    assert faceless.exit_code == 1 and "shows no face" in faceless.stderr and "Traceback" not in faceless.output
    nothing = cli("find", "--db", db, ok=False)
    assert nothing.exit_code == 2
