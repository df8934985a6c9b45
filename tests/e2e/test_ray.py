"""`refcli index --ray` on a local Ray instance: the same rows as a local run, retries after a
worker or an actor is killed, a clean stop on Ctrl-C. Each run is a real `refcli` process that
starts and stops its own Ray (RAY_AUTH_MODE=disabled)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import same
from test_cli import run_refcli

from refcli.store import Store

pytest.importorskip("ray")

pytestmark = pytest.mark.slow
ENV = {"RAY_AUTH_MODE": "disabled"}


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("ray_media")
    for name in ("vtest_4s.mp4", "composite_walkers.mp4", "messi5.jpg", "obama3.jpg"):
        shutil.copy(data_dir / name, root / name)
    (root / "broken.mp4").write_text("not a video\n" * 10)
    return root


def contents(db: Path) -> dict[str, list]:
    """Every stored row but generation numbers (time-based, different in every run)."""
    store = Store.open(str(db))
    out: dict[str, list] = {}
    for table, key in (("tracks", ("content_id", "track")), ("frames", ("content_id", "sample")),
                       ("keyframes", ("content_id", "sample"))):
        rows = store._read(table).to_pylist()
        for row in rows:
            row.pop("generation")
        out[table] = sorted(rows, key=lambda r: tuple(r[k] for k in key))
    out["media"] = sorted((m.content_id, m.status, m.error) for m in store.contents.media().values())
    return out


@pytest.fixture(scope="module")
def local(media: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    db = tmp_path_factory.mktemp("local") / "db"
    assert run_refcli("index", str(media), "--db", str(db), env=ENV).returncode == 0
    return db, contents(db)


def index_on_ray(media: Path, db: Path, **env: str) -> subprocess.CompletedProcess:
    return run_refcli("index", str(media), "--db", str(db), "--ray", "--json", env={**ENV, **env})


def test_ray_stores_what_a_local_run_stores(media: Path, local: tuple[Path, dict], tmp_path: Path) -> None:
    db = tmp_path / "db"
    result = index_on_ray(media, db)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["new"] == 4 and summary["failed"] == 1
    stored = contents(db)
    assert {k: len(v) for k, v in stored.items()} == {k: len(v) for k, v in local[1].items()}
    assert same(stored, local[1])
    for query in ("the leftmost person", "people walking to the left", "person"):
        ray_hits = json.loads(run_refcli("find", query, "--db", str(db), "--json", "--limit", "0").stdout)
        local_hits = json.loads(run_refcli("find", query, "--db", str(local[0]), "--json", "--limit", "0").stdout)
        assert ray_hits["hits"] == local_hits["hits"] and ray_hits["total"] > 0
    # the referrer on two Ray actors answers as the local one does
    on_ray = run_refcli("find", "people walking to the left", "--db", str(db), "--json", "--limit", "0", "--ray",
                        "--actors", "2", env=ENV)
    assert on_ray.returncode == 0, on_ray.stderr
    here = run_refcli("find", "people walking to the left", "--db", str(db), "--json", "--limit", "0", env=ENV)
    assert json.loads(on_ray.stdout) == json.loads(here.stdout)


def test_ray_reuses_the_boxes_of_still_samples_as_a_local_run_does(data_dir: Path, tmp_path: Path) -> None:
    from test_still_index import still_then_walking

    media = tmp_path / "media"
    media.mkdir()
    still_then_walking(data_dir, media / "held.mp4")
    local_db, ray_db = tmp_path / "local", tmp_path / "ray"
    assert run_refcli("index", str(media), "--db", str(local_db), "--reuse-still", env=ENV).returncode == 0
    result = run_refcli("index", str(media), "--db", str(ray_db), "--reuse-still", "--ray", "--json", env=ENV)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["reused"] == 6
    assert same(contents(ray_db), contents(local_db))


@pytest.mark.parametrize("how", ["KILL", "INT"])
@pytest.mark.parametrize("point", ["ray-file:3", "ray-detector:2"])
def test_a_killed_worker_or_actor_costs_a_retry_not_a_row(point: str, how: str, media: Path,
                                                          local: tuple[Path, dict], tmp_path: Path) -> None:
    """SIGKILL or SIGINT of the process decoding a file (3rd sample) or of a detector actor (2nd
    batch): the file is tried again under a new generation; nothing is lost or stored twice."""
    marker = tmp_path / "fired"
    db = tmp_path / "db"
    result = index_on_ray(media, db, REFCLI_FAULT=point, REFCLI_FAULT_ONCE=str(marker), REFCLI_FAULT_SIGNAL=how)
    assert result.returncode == 0, result.stderr
    assert marker.exists()  # the fault did fire
    assert json.loads(result.stdout)["new"] == 4
    assert same(contents(db), local[1])


def test_ctrl_c_stops_the_cluster_side_and_a_rerun_finishes(media: Path, local: tuple[Path, dict],
                                                            tmp_path: Path) -> None:
    db = tmp_path / "db"
    result = index_on_ray(media, db, REFCLI_FAULT="ray-driver", REFCLI_FAULT_SIGNAL="INT")
    assert result.returncode == 130 and "interrupted" in result.stderr
    assert "Traceback" not in result.stderr
    leftover = subprocess.run(["pgrep", "-f", f"ray.*{tmp_path.name}"], capture_output=True, text=True)
    assert leftover.stdout == ""
    # every Ray process this run started is gone (its session's raylet and GCS)
    assert subprocess.run(["pgrep", "-f", "raylet"], capture_output=True).returncode == 1
    again = index_on_ray(media, db)
    assert again.returncode == 0, again.stderr
    assert same(contents(db), local[1])


def test_bad_actor_bounds_are_a_one_line_error(media: Path, tmp_path: Path) -> None:
    result = run_refcli("index", str(media), "--db", str(tmp_path / "db"), "--ray", "--actors", "3-1", env=ENV)
    assert result.returncode != 0 and "MIN-MAX" in result.stderr and "Traceback" not in result.stderr


def test_actor_bounds_parse() -> None:
    from refcli.executors import RayOptions

    assert RayOptions.parse_actors("4") == (4, 4)
    assert RayOptions.parse_actors("1-8") == (1, 8)
    for bad in ("0", "x", "3-1", "-2"):
        with pytest.raises(ValueError, match="MIN-MAX|N or"):
            RayOptions.parse_actors(bad)


def test_asking_for_gpus_on_a_cluster_without_any_fails_fast(media: Path, tmp_path: Path) -> None:
    result = run_refcli("index", str(media / "messi5.jpg"), "--db", str(tmp_path / "db"), "--ray",
                        "--gpus-per-actor", "0.5", env=ENV)
    assert result.returncode != 0 and "has no GPU" in result.stderr and "Traceback" not in result.stderr
