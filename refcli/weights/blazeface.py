"""BlazeFace (MediaPipe's face detector, as human ships it): its input and how to read its output."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

INPUT_SIZE = 256


def _anchors(size: int) -> npt.NDArray[np.float32]:
    """BlazeFace's anchor centres (pixels of its input), as human's facemeshutil.generateAnchors."""
    out = []
    for stride, per_cell in ((size // 16, 2), (size // 8, 6)):
        cells = (size + stride - 1) // stride
        for gy in range(cells):
            for gx in range(cells):
                out.extend([(stride * (gx + 0.5), stride * (gy + 0.5))] * per_cell)
    return np.array(out, np.float32)


def faces(model: Any, crop: npt.NDArray[np.uint8], min_score: float = 0.5,
          iou: float = 0.3) -> list[tuple[float, tuple[float, float, float, float]]]:
    """Faces BlazeFace finds in a square RGB crop of INPUT_SIZE pixels: (score, xyxy in crop pixels),
    best first, overlaps suppressed."""
    from refcli.detect.ssdlite import suppress_overlaps

    size = crop.shape[0]
    tensor = (crop.astype(np.float32) / 127.5 - 1.0)[None]
    outputs = [np.asarray(o)[0] for o in model.run(None, {model.get_inputs()[0].name: tensor})]
    # two anchor grids (stride 16: 512 anchors, stride 32: 384), each a score and a regressor output
    logits = np.concatenate(sorted((o for o in outputs if o.shape[-1] == 1), key=lambda o: -len(o)))[:, 0]
    regressors = np.concatenate(sorted((o for o in outputs if o.shape[-1] == 16), key=lambda o: -len(o)))
    anchors = _anchors(size)
    centres = regressors[:, 0:2] + anchors
    half = regressors[:, 2:4] / 2
    boxes = np.concatenate([centres - half, centres + half], axis=1)
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -80, 80)))
    keep = scores >= min_score
    boxes, scores = boxes[keep], scores[keep]
    chosen = suppress_overlaps(boxes, scores, iou)
    return [(float(scores[i]), (float(boxes[i, 0]), float(boxes[i, 1]), float(boxes[i, 2]), float(boxes[i, 3])))
            for i in chosen]
