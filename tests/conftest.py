"""Shared fixtures: real media from tests/data, damaged files made from it, a fresh database."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from refcli.detections import box_iou
from refcli.registry import EXTRAS, installed

DATA = Path(__file__).parent / "data"

os.environ.setdefault("RAY_AUTH_MODE", "disabled")

# Tests of the model backends need the `models` extra (torch, transformers); a core install
# (`pip install .`) runs the rest. The README's install line installs it.
NEEDS_MODELS = ["e2e/test_vlm.py", "unit/test_hf_detectors.py", "unit/test_grounders.py", "unit/test_objects_set.py",
                "e2e/test_objects_e2e.py"]
MODELS_MISSING = not all(installed(module) for module in EXTRAS["models"])
collect_ignore = NEEDS_MODELS if MODELS_MISSING else []


def pytest_report_header() -> str | None:
    if MODELS_MISSING:
        return f"the models extra is not installed: {', '.join(NEEDS_MODELS)} not collected"
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def people() -> dict:
    return json.loads((DATA / "people.json").read_text())


@pytest.fixture(scope="session")
def detector():
    from refcli.detect import create_detector

    return create_detector("ssdlite", threads=1)


@pytest.fixture()
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db"


@pytest.fixture()
def archive(tmp_path: Path) -> Path:
    """A small archive of good media with awkward names, in nested folders."""
    root = tmp_path / "archive"
    (root / "photos" / "été 2024").mkdir(parents=True)
    (root / "videos").mkdir(parents=True)
    shutil.copy(DATA / "messi5.jpg", root / "photos" / "été 2024" / "match 'final' \"day\".jpg")
    shutil.copy(DATA / "messi5_exif6.jpg", root / "photos" / "rotated.jpg")
    shutil.copy(DATA / "vtest_4s.mp4", root / "videos" / "plaza clip.mp4")
    (root / "notes.txt").write_text("not media")
    return root


def write_bad_files(folder: Path) -> dict[str, str]:
    """Real damaged inputs, named by what is wrong with them; returns name -> expected words."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.jpg").write_bytes(b"")
    jpeg = (DATA / "messi5.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (folder / "text.mp4").write_text("this is not a video\n" * 20)
    mp4 = (DATA / "vtest_4s.mp4").read_bytes()
    (folder / "truncated.mp4").write_bytes(mp4[: len(mp4) // 2])  # moov atom is at the end: unreadable
    return {"empty.jpg": "empty", "truncated.jpg": "damaged image", "text.mp4": "not a readable video",
            "truncated.mp4": "not a readable video"}


iou = box_iou  # the tests measure boxes with refcli's own IoU


def match(truth: list[list[float]], found: list[list[float]], threshold: float = 0.5) -> tuple[int, int]:
    """Greedy one-to-one matching; returns (true people found, boxes that matched nobody)."""
    unused = list(range(len(found)))
    hits = 0
    for box in truth:
        best = max(unused, key=lambda j: iou(box, found[j]), default=None)
        if best is not None and iou(box, found[best]) >= threshold:
            unused.remove(best)
            hits += 1
    return hits, len(unused)


def same(a: object, b: object) -> bool:
    """Equal, NaN equal to NaN (features store NaN for what they could not measure): stored rows
    of two runs that must have stored the same."""
    import math

    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b
