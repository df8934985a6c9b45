"""`refcli eval humanref`: run a detector/referrer pipeline over HumanRef and write predictions.

Predictions are appended one line per expression in the reference format
``{"id", "extracted_predictions": [[x1, y1, x2, y2], ...]}``, plus ``unsupported`` (phrases the
backend declared it cannot judge) and ``candidates`` (the boxes the referrer chose from), which
the reference ignores. A run that stops is continued by running it again: expressions already
in the file are skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from itertools import groupby
from typing import TYPE_CHECKING, Any

import numpy as np

from refcli.defaults import PEOPLE_MIN_SCORE
from refcli.detect import Detector
from refcli.errors import MediaError
from refcli.evaluate import Annotation, EvalError
from refcli.features import Measured
from refcli.ground import Grounder
from refcli.io.image import Picture, load_picture
from refcli.refer import ReferRequest, Referrer

if TYPE_CHECKING:
    from refcli.query.cues import MomentCues
    from refcli.query.frames import Frame


def done_ids(path: str) -> set[Any]:
    """Ids already predicted; a torn last line (the run was killed mid-write) is cut off."""
    if not os.path.exists(path):
        return set()
    ids, good = set(), 0
    with open(path, "rb") as f:
        for line in f:
            try:
                ids.add(json.loads(line)["id"])
                good += len(line)
            except (json.JSONDecodeError, KeyError, UnicodeDecodeError):
                break
    if good < os.path.getsize(path):
        with open(path, "r+b") as f:
            f.truncate(good)
    return ids


def run_humanref(annotations: list[Annotation], images: str, referrer: Referrer, out_path: str, *,
                 detector: Detector | None = None, min_score: float = PEOPLE_MIN_SCORE, batch_size: int = 16,
                 progress: Callable[..., Any] | None = None, grounder: Grounder | None = None) -> dict[str, int]:
    """Predict every annotation not yet in ``out_path``; candidates come from the annotation
    (``detector`` None) or from the detector. Requests go to the referrer in batches.
    Returns counts: done, skipped (already in the file), unreadable images."""
    finished = done_ids(out_path)
    todo = [a for a in annotations if a.id not in finished]
    counts = {"done": 0, "skipped": len(annotations) - len(todo), "unreadable_images": 0}
    bar = progress(total=len(todo), unit="expr", desc="humanref") if progress else None
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    pending: list[tuple[Annotation, ReferRequest | None, np.ndarray, str | None]] = []

    def flush(out: Any) -> None:
        requests = [r for _, r, _, _ in pending if r is not None]
        results = iter(referrer.refer(requests) if requests else [])
        for ann, request, boxes, error in pending:
            row: dict[str, Any] = {"id": ann.id, "extracted_predictions": [], "unsupported": []}
            if request is None:
                row["error"] = error
            else:
                result = next(results)
                row["unsupported"] = list(result.unsupported)
                if not result.unsupported:
                    row["extracted_predictions"] = [[round(float(v), 2) for v in boxes[i]] for i in result.indexes]
                if detector is not None:
                    row["candidates"] = [[round(float(v), 2) for v in b] for b in boxes]
            out.write(json.dumps(row) + "\n")
        out.flush()
        counts["done"] += len(pending)
        if bar is not None:
            bar.update(len(pending))
        pending.clear()

    videos = VideoMotion(images)
    with videos, open(out_path, "a", encoding="utf-8") as out:
        for image_name, group in groupby(todo, key=lambda a: a.image_name):
            items = list(group)
            try:
                picture: Picture | None = load_picture(os.path.join(images, image_name), apply_exif=False)
                error = None
            except MediaError as err:
                counts["unreadable_images"] += 1
                picture, error = None, f"image unreadable: {err}"
            boxes, scores = _candidates(items[0], picture, detector, min_score)
            for ann in items:
                if picture is None:
                    pending.append((ann, None, boxes, error))
                    continue
                image, k = picture.image, picture.scale  # boxes: the annotation's pixels; requests: the image's
                if detector is None:
                    boxes, scores = _candidates(ann, picture, None, min_score)
                # the image goes to every backend: one that measures features (colours, faces) on
                # the fly needs it as much as one that looks at pixels
                features = None
                if ann.video is not None and "motion" in referrer.wants(ann.referring):
                    features = videos.motion(ann.video, ann.time, boxes)
                objects = None
                phrases = [p for p in referrer.object_phrases(ann.referring) if grounder.understands(p)] \
                    if grounder is not None else []
                if grounder is not None and phrases:
                    objects = {phrase: grounder.ground([image], phrase)[0] for phrase in phrases}
                request = ReferRequest(ann.referring, boxes if k == 1.0 else boxes * np.float32(k), scores,
                                       (image.shape[1], image.shape[0]), image, features, objects)
                pending.append((ann, request, boxes, None))
            if len(pending) >= batch_size:
                flush(out)
        if pending:
            flush(out)
    if bar is not None:
        bar.close()
    return counts


class VideoMotion:
    """Motion of the people in a benchmark frame taken from a video: refcli indexes the video once
    (into a temporary database, the same pipeline as `refcli index`) and each candidate box takes
    the motion of the track whose box at that time overlaps it (IoU >= 0.5)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._tmp: Any = None
        self._indexed: dict[str, tuple[list[Frame], MomentCues]] = {}

    def __enter__(self) -> VideoMotion:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def _indexed_frames(self, video: str) -> tuple[list[Frame], MomentCues]:
        """The video's indexed frames and its tracks' motion, indexed and read once per video."""
        if video not in self._indexed:
            import tempfile

            from refcli.index import run_index
            from refcli.query.cues import MomentCues
            from refcli.query.frames import current_frames
            from refcli.store import Store

            self._tmp = self._tmp or tempfile.TemporaryDirectory(prefix="refcli-eval-")
            store = Store.open(os.path.join(self._tmp.name, f"db{len(self._indexed)}"), create=True)
            path = os.path.join(self.folder, video)
            if not os.path.isfile(path):
                raise EvalError(f"annotation names a video that is not there: {path}")
            with store.writer():
                summary = run_index([path], store)
            if summary.failures:
                raise EvalError(f"{path}: {summary.failures[0].reason}")
            self._indexed[video] = (list(current_frames(store)), MomentCues(store, frozenset({"motion"})))
        return self._indexed[video]

    def motion(self, video: str, time: float | None, boxes: np.ndarray) -> list[Measured]:
        from refcli.detections import box_iou
        from refcli.features.motion import MotionCues

        rows, moments = self._indexed_frames(video)
        unknown = Measured({MotionCues.key: None})
        if not rows or time is None:
            return [unknown for _ in boxes]
        frame = min(rows, key=lambda f: abs((f.time or 0.0) - time))
        if abs((frame.time or 0.0) - time) > 0.3:
            return [unknown for _ in boxes]
        out: list[Measured] = []
        for box in boxes.tolist():
            overlaps = [box_iou(box, c.box) for c in frame.candidates]
            best = int(np.argmax(overlaps)) if overlaps else -1
            cues = None
            if best >= 0 and overlaps[best] >= 0.5:
                cues = moments.at(frame, frame.candidates[best].track).get(MotionCues)
            out.append(Measured({MotionCues.key: cues}))
        return out


def _candidates(ann: Annotation, picture: Picture | None, detector: Detector | None,
                min_score: float) -> tuple[np.ndarray, np.ndarray]:
    """The boxes the referrer chooses from, in the annotation's pixels: the benchmark's own, or
    the detector's people."""
    if detector is None or picture is None:
        boxes = np.array(ann.candidate_boxes, np.float32).reshape(-1, 4)
        return boxes, np.ones(len(boxes), np.float32)
    found = detector.detect([picture.image])[0]
    keep = found.confidence >= min_score
    boxes = found.xyxy[keep] if picture.scale == 1.0 else found.xyxy[keep] / np.float32(picture.scale)
    return boxes, found.confidence[keep]


def check_images(images: str) -> None:
    if not os.path.isdir(images):
        raise EvalError(f"no image folder at {images}")
