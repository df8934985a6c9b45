"""End to end: `find "the person holding a ball"` with an object detector trained here.

The ball is a real object crop (the football in messi5.jpg, cut out round); it is pasted into
real frames of the plaza video, at hand height beside some people ("held") and on the ground
away from everyone or at someone's feet (not held). A small CenterNet-style detector is trained
on composites of training frames for about a minute, and plugged in as an object grounder. The
held-out composites are made from the three hand-checked vtest frames (tests/data/people.json),
indexed as photos; `find` must return exactly the people given a ball, and nobody on a picture
where the balls only lie on the ground.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from refcli.cli.app import app
from refcli.detections import box_iou as iou
from refcli.ground import Found, Grounder, calibrate, grounders
from refcli.io.image import load_image

pytestmark = pytest.mark.slow
runner = CliRunner()
DATA = Path(__file__).parents[1] / "data"
BALL_BOX = (338, 289, 387, 336)  # the football in messi5.jpg
SIZE = (384, 288)  # the detector's input (half the plaza frames)
STRIDE = 4


def ball_sprite() -> tuple[np.ndarray, np.ndarray]:
    """The ball's pixels and a round mask (no grass around it)."""
    photo = load_image(str(DATA / "messi5.jpg"))
    x1, y1, x2, y2 = BALL_BOX
    crop = photo[y1:y2, x1:x2].astype(np.float32)
    yy, xx = np.mgrid[0:y2 - y1, 0:x2 - x1]
    r = min(x2 - x1, y2 - y1) / 2
    mask = ((xx - (x2 - x1) / 2 + 0.5) ** 2 + (yy - (y2 - y1) / 2 + 0.5) ** 2 <= (r - 1) ** 2).astype(np.float32)
    return crop, mask


def paste(image: np.ndarray, sprite: tuple[np.ndarray, np.ndarray], cx: float, cy: float, d: float
          ) -> list[float]:
    """Paste the ball with diameter ``d`` centred at (cx, cy); returns its box."""
    crop, mask = sprite
    size = max(6, int(round(d)))
    pixels = np.asarray(Image.fromarray(crop.astype(np.uint8)).resize((size, size), Image.Resampling.BILINEAR),
                        np.float32)
    alpha = np.asarray(Image.fromarray((mask * 255).astype(np.uint8)).resize((size, size)), np.float32)[..., None] / 255
    x1, y1 = int(round(cx - size / 2)), int(round(cy - size / 2))
    h, w = image.shape[:2]
    sx1, sy1, sx2, sy2 = max(0, x1), max(0, y1), min(w, x1 + size), min(h, y1 + size)
    if sx2 <= sx1 or sy2 <= sy1:
        return []
    part = pixels[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1]
    a = alpha[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1]
    image[sy1:sy2, sx1:sx2] = (a * part + (1 - a) * image[sy1:sy2, sx1:sx2]).astype(np.uint8)
    return [float(sx1), float(sy1), float(sx2), float(sy2)]


def held_at(person: Sequence[float], side: int) -> tuple[float, float, float]:
    """Centre and diameter of a ball held at hand height on one side of a person."""
    x1, y1, x2, y2 = person
    w, h = x2 - x1, y2 - y1
    return (x2 - 0.1 * w if side > 0 else x1 + 0.1 * w), y1 + 0.45 * h, 0.28 * h


def on_ground_far(people: Sequence[Sequence[float]], size: tuple[int, int], rng: np.random.Generator
                  ) -> tuple[float, float, float] | None:
    w, h = size
    for _ in range(200):
        cx, cy = rng.uniform(20, w - 20), rng.uniform(h * 0.3, h - 20)
        d = float(rng.uniform(18, 30))
        if all(cx < p[0] - (p[2] - p[0]) - d or cx > p[2] + (p[2] - p[0]) + d or cy < p[1] - d or cy > p[3] + 2 * d
               for p in people):
            return cx, cy, d
    return None


def clear_sides(people: Sequence[Sequence[float]], i: int) -> list[int]:
    """The sides of person ``i`` where a held ball would touch nobody else, so who holds it is
    plain to see."""
    sides = []
    for side in (1, -1):
        cx, cy, d = held_at(people[i], side)
        if all(j == i or not (p[0] - d < cx < p[2] + d and p[1] < cy < p[3]) for j, p in enumerate(people)):
            sides.append(side)
    return sides


def compose(frame: np.ndarray, people: Sequence[Sequence[float]], holders: Sequence[int], rng: np.random.Generator,
            distractors: int = 1, at_feet: Sequence[int] = ()) -> tuple[np.ndarray, list[list[float]]]:
    """A frame with balls held by ``holders``, at the feet of ``at_feet`` and on the ground."""
    image = frame.copy()
    sprite = ball_sprite()
    balls = []
    for i in holders:
        sides = clear_sides(people, i) or [1, -1]
        side = sides[int(rng.integers(len(sides)))]
        balls.append(paste(image, sprite, *held_at(people[i], side)))
    for i in at_feet:
        x1, y1, x2, y2 = people[i]
        d = 0.2 * (y2 - y1)
        balls.append(paste(image, sprite, (x1 + x2) / 2 + 0.6 * (x2 - x1), y2 - d / 2, d))
    for _ in range(distractors):
        spot = on_ground_far(people, (frame.shape[1], frame.shape[0]), rng)
        if spot is not None:
            balls.append(paste(image, sprite, *spot))
    return image, [b for b in balls if b]


# --- the detector ------------------------------------------------------------------------------

def _net() -> Any:
    import torch.nn as nn

    def block(i: int, o: int, s: int) -> Any:
        return nn.Sequential(nn.Conv2d(i, o, 3, s, 1), nn.BatchNorm2d(o), nn.ReLU())

    return nn.Sequential(block(3, 16, 2), block(16, 32, 2), block(32, 32, 1), block(32, 32, 1),
                         nn.Conv2d(32, 3, 1))  # heatmap logit, log width, log height at stride 4


def _tensor(images: Sequence[np.ndarray]) -> Any:
    import torch

    small = [np.asarray(Image.fromarray(im).resize(SIZE, Image.Resampling.BILINEAR), np.float32) for im in images]
    return torch.from_numpy(np.stack(small)).permute(0, 3, 1, 2) / 255.0 - 0.5


def _targets(boxes: Sequence[Sequence[Sequence[float]]], scale: tuple[float, float]) -> tuple[Any, Any, Any]:
    import torch

    gw, gh = SIZE[0] // STRIDE, SIZE[1] // STRIDE
    heat = torch.zeros(len(boxes), 1, gh, gw)
    size = torch.zeros(len(boxes), 2, gh, gw)
    mask = torch.zeros(len(boxes), 1, gh, gw)
    yy, xx = torch.meshgrid(torch.arange(gh), torch.arange(gw), indexing="ij")
    for n, image_boxes in enumerate(boxes):
        for x1, y1, x2, y2 in image_boxes:
            cx, cy = (x1 + x2) / 2 * scale[0] / STRIDE, (y1 + y2) / 2 * scale[1] / STRIDE
            bw, bh = (x2 - x1) * scale[0], (y2 - y1) * scale[1]
            sigma = max(0.8, bw / STRIDE / 4)
            heat[n, 0] = torch.maximum(heat[n, 0], torch.exp(-((xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2)
                                                             / (2 * sigma ** 2)))
            ix, iy = min(gw - 1, int(cx)), min(gh - 1, int(cy))
            heat[n, 0, iy, ix] = 1.0  # the centre cell is the positive
            size[n, :, iy, ix] = torch.tensor([np.log(bw), np.log(bh)])
            mask[n, 0, iy, ix] = 1
    return heat, size, mask


def train_detector(samples: list[tuple[np.ndarray, list[list[float]]]], steps: int, path: Path) -> None:
    import torch

    torch.manual_seed(0)
    net = _net()
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    scale = (SIZE[0] / samples[0][0].shape[1], SIZE[1] / samples[0][0].shape[0])
    inputs = _tensor([image for image, _ in samples])
    heat, size, mask = _targets([boxes for _, boxes in samples], scale)
    for _ in range(steps):
        pick = torch.from_numpy(rng.choice(len(samples), 8, replace=False))
        out = net(inputs[pick])
        p = torch.sigmoid(out[:, :1]).clamp(1e-4, 1 - 1e-4)
        t = heat[pick]
        positive = (t > 0.99).float()
        focal = -(positive * (1 - p) ** 2 * torch.log(p)
                  + (1 - positive) * (1 - t) ** 4 * p ** 2 * torch.log(1 - p)).sum() / positive.sum().clamp(min=1)
        m = mask[pick]
        regression = (torch.abs(out[:, 1:] - size[pick]) * m).sum() / m.sum().clamp(min=1)
        loss = focal + 0.1 * regression
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    torch.save(net.state_dict(), path)


class BallGrounder(Grounder):
    """The detector trained above, as an object grounder (closed set: it knows balls)."""

    name: ClassVar[str] = "test-ball"
    threshold: ClassVar[float] = 0.5  # a sigmoid heatmap's even odds

    def __init__(self, model: str | None = None) -> None:
        import torch

        self.path = model or os.environ["REFCLI_GROUNDER_MODEL"]
        self.net = _net()
        self.net.load_state_dict(torch.load(self.path))
        self.net.eval()

    @property
    def version(self) -> str:
        return f"test-ball-{os.path.getsize(self.path)}"

    def ground(self, images: Sequence[np.ndarray], phrase: str) -> list[Found]:
        import torch
        import torch.nn.functional as F

        if not images:
            return []
        if phrase.split()[-1] not in ("ball", "balls", "football"):
            return [[] for _ in images]
        out = []
        with torch.no_grad():
            for image in images:
                result = self.net(_tensor([image]))
                heat = torch.sigmoid(result[0, 0])
                peaks = (heat == F.max_pool2d(heat[None, None], 3, 1, 1)[0, 0]) & (heat >= self.threshold)
                sx, sy = image.shape[1] / SIZE[0], image.shape[0] / SIZE[1]
                found: Found = []
                for y, x in zip(*torch.nonzero(peaks, as_tuple=True)):
                    bw, bh = torch.exp(result[0, 1, y, x]).item() * sx, torch.exp(result[0, 2, y, x]).item() * sy
                    cx, cy = (x.item() + 0.5) * STRIDE * sx, (y.item() + 0.5) * STRIDE * sy
                    found.append(([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2],
                                  calibrate(float(heat[y, x]), self.threshold)))
                out.append(found)
        return out


# --- data --------------------------------------------------------------------------------------

def training_frames() -> list[tuple[np.ndarray, list[list[float]]]]:
    """Plaza frames outside the 16-20 s the held-out vtest frames come from, with people found by
    the embedded detector (score >= 0.5)."""
    from refcli.detect import create_detector
    from refcli.io.video import sample_video

    detector = create_detector("ssdlite", threads=1)
    frames = [s for s in sample_video(str(DATA.parent.parent / "examples" / "footage" / "plaza.mp4"), 1.0)
              if s.time is not None and not 15.0 <= s.time <= 21.0]
    out = []
    for sample, found in zip(frames, detector.detect([s.image for s in frames])):
        people = found.xyxy[found.confidence >= 0.5].tolist()
        if people:
            out.append((sample.image, people))
    return out


def train_ball_grounder(path: Path) -> None:
    """Train the ball detector on composites of the training frames and save it at ``path``."""
    rng = np.random.default_rng(1)
    samples = []
    for frame, people in training_frames():
        for _ in range(6):
            holders = [int(i) for i in rng.choice(len(people), min(len(people), int(rng.integers(1, 3))),
                                                  replace=False)]
            feet = [i for i in range(len(people)) if i not in holders][:1] if rng.random() < 0.4 else []
            samples.append(compose(frame, people, holders, rng, distractors=int(rng.integers(0, 3)), at_feet=feet))
    train_detector(samples, steps=700, path=path)


@pytest.fixture(scope="module")
def ball_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ball") / "ball.pt"
    train_ball_grounder(path)
    grounders.register("test-ball", "test_objects_e2e:BallGrounder")
    return path


def test_find_returns_exactly_the_people_holding_the_ball(ball_model: Path, tmp_path: Path) -> None:
    from refcli.detect import create_detector

    people = json.loads((DATA / "people.json").read_text())["vtest_4s.mp4"]
    frames = {t: load_image(str(DATA / "humanref_mini" / f"vtest_{t}.jpg")) for t in people}
    detector = create_detector("ssdlite", threads=1)
    rng = np.random.default_rng(7)
    archive = tmp_path / "held out"
    archive.mkdir()
    expected: dict[str, list[list[float]]] = {}
    for t, boxes in people.items():
        # holders: people big enough for a visible ball, with a side where it touches nobody else,
        # whom the person detector finds in the composite (refcli cannot return a person it never
        # detected; detector misses are measured elsewhere)
        found = detector.detect([frames[t]])[0]
        seen = found.xyxy[found.confidence >= 0.3].tolist()
        large = [i for i, b in enumerate(boxes)
                 if b[3] - b[1] >= 70 and clear_sides(boxes, i) and any(iou(b, c) >= 0.5 for c in seen)]
        for variant in range(2 if large else 0):
            for _ in range(20):
                holders = [int(i) for i in rng.choice(large, min(2, len(large)), replace=False)]
                others = [i for i in large if i not in holders]
                image, _ = compose(frames[t], boxes, holders, rng, distractors=2, at_feet=others[:1])
                found = detector.detect([image])[0]
                seen = found.xyxy[found.confidence >= 0.3].tolist()
                if all(any(iou(boxes[i], c) >= 0.5 for c in seen) for i in holders):
                    break
            else:
                continue  # no draw kept both holders detectable: leave this variant out
            name = f"plaza {t} {variant}.jpg"
            Image.fromarray(image).save(archive / name, quality=95)
            expected[name] = [boxes[i] for i in holders]
    # and a picture where balls only lie on the ground: nobody holds one
    image, _ = compose(frames["2.0"], people["2.0"], [], rng, distractors=3)
    Image.fromarray(image).save(archive / "nobody holds it.jpg", quality=95)
    expected["nobody holds it.jpg"] = []

    assert len(expected) >= 5  # at least four pictures with holders, and the one without
    db = str(tmp_path / "db")
    assert runner.invoke(app, ["index", str(archive), "--db", db]).exit_code == 0
    result = runner.invoke(app, ["find", "the person holding a ball", "--db", db, "--json", "--limit", "0",
                                 "--grounder", "test-ball", "--grounder-model", str(ball_model)])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["unsupported"] == [] and found["frames_grounded"] > 0
    got: dict[str, list[list[float]]] = {name: [] for name in expected}
    for hit in found["hits"]:
        got[Path(hit["path"]).name].append(hit["box"])
    for name, truth in expected.items():
        matched = [any(iou(t, b) >= 0.5 for b in got[name]) for t in truth]
        assert all(matched), (name, truth, got[name])
        assert len(got[name]) == len(truth), (name, truth, got[name])  # nobody else: not the feet, not the ground
    shutil.rmtree(archive)
