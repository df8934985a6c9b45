"""NanoDet-g (COCO-80, as human ships it; Apache-2.0): its input and how to read its output.

Input ``input_1:0``: (1, 3, 416, 416) channels first, a plain resize, normalised as NanoDet was
trained: BGR, minus the mean, over the standard deviation of its config (human feeds RGB / 255:
measured on messi5.jpg, that scores the person 0.71 and the ball 0.29, NanoDet's own
normalisation 0.83 and 0.49, the ball then above the threshold CenterNet's 0.68 crossed). Outputs, per
stride 8, 16 and 32 (52x52, 26x26 and 13x13 cells, row-major): class scores (N, 80), already
sigmoid, and box distributions (N, 44): for each side (left, top, right, bottom) logits over 11
bins; the distance is stride x the softmax's expectation over 0..10 (NanoDet's generalized focal
loss head), from the cell centre (stride x (cell + 0.5)). No NMS in the graph: ``objects`` does it
per class.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

INPUT_SIZE = 416
MEAN = np.array([103.53, 116.28, 123.675], np.float32)  # BGR
STD = np.array([57.375, 57.12, 58.395], np.float32)
STRIDES = (8, 16, 32)
BINS = 11

LABELS = ('person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
          'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
          'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
          'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard',
          'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
          'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
          'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard',
          'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors',
          'teddy bear', 'hair drier', 'toothbrush')
"""The model's classes, in its output order (human's src/object/labels.ts)."""





def _distances(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """(N, 44) side logits -> (N, 4) distances in cells (left, top, right, bottom)."""
    sides = logits.reshape(-1, 4, BINS)
    sides = np.exp(sides - sides.max(axis=2, keepdims=True))
    sides /= sides.sum(axis=2, keepdims=True)
    return (sides * np.arange(BINS, dtype=np.float32)).sum(axis=2)


def objects(session: Any, image: npt.NDArray[np.uint8], min_score: float,
            iou: float) -> list[tuple[list[float], float, str]]:
    """Every COCO thing in ``image`` scoring at least ``min_score``: (xyxy in image pixels, score,
    label), overlaps above ``iou`` within a label suppressed, best first per label."""
    from PIL import Image

    from refcli.detect.ssdlite import suppress_overlaps

    h, w = image.shape[:2]
    resized = np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize(
        (INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR), np.float32)
    tensor = ((resized[..., ::-1] - MEAN) / STD).transpose(2, 0, 1)[None].astype(np.float32)
    outputs = session.run(None, {session.get_inputs()[0].name: tensor})
    found_boxes, found_scores, found_classes = [], [], []
    for stride in STRIDES:
        cells = INPUT_SIZE // stride
        scores = next(o for o in outputs if o.shape[1] == cells * cells and o.shape[2] == len(LABELS))[0]
        boxes = next(o for o in outputs if o.shape[1] == cells * cells and o.shape[2] == 4 * BINS)[0]
        cell, cls = np.nonzero(scores >= min_score)
        if not len(cell):
            continue
        cx = (cell % cells + 0.5) * stride
        cy = (cell // cells + 0.5) * stride
        d = _distances(boxes[cell]) * stride
        found_boxes.append(np.stack([cx - d[:, 0], cy - d[:, 1], cx + d[:, 2], cy + d[:, 3]], axis=1))
        found_scores.append(scores[cell, cls])
        found_classes.append(cls)
    out: list[tuple[list[float], float, str]] = []
    if not found_boxes:
        return out
    boxes_all = np.concatenate(found_boxes) * np.array([w / INPUT_SIZE, h / INPUT_SIZE] * 2, np.float32)
    boxes_all = np.clip(boxes_all, 0, [w, h, w, h]).astype(np.float32)
    scores_all, classes_all = np.concatenate(found_scores), np.concatenate(found_classes)
    for cls in np.unique(classes_all):
        pick = np.flatnonzero(classes_all == cls)
        for i in suppress_overlaps(boxes_all[pick], scores_all[pick], iou):
            out.append(([float(v) for v in boxes_all[pick[i]]], float(scores_all[pick[i]]), LABELS[int(cls)]))
    return out
