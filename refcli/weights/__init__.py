"""The model weights that ship inside refcli, and what every model needs to run them.

Each file here was converted once from a registry package and checked against the original
(PROVENANCE.md: source, licence, conversion, measured differences; ``convert/`` reproduces it).
``session`` opens one with onnxruntime after checking its checksum: a damaged install is named,
never run. Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from refcli.errors import BackendError

MODELS: dict[str, tuple[str, str]] = {
    "blazeface": ("blazeface.onnx", "ec25f1999aebb0d9b02bfcdf4ff9c150c55b3c694aebcaac9d1e4a55db603c44"),
    "faceres": ("faceres.onnx", "4fc20709edb43b7dd30b7c83ed4bc9d13514798c91c6f8e8a0a36d1bcb11c052"),
    "emotion": ("emotion.onnx", "b1e3f754d0e4d4254161cadb62ee03edbbfe5517d4a6d6e20c0447caea6a85fd"),
    "nanodet": ("nanodet.onnx", "ad365578bc0cec9e725dc1e8d2859ef745df483cc2448e49d4aed5c55fb0b369"),
}
"""name -> (file in this package, sha256)."""


@cache
def session(name: str, threads: int = 1) -> Any:
    """An onnxruntime session of the shipped model ``name`` (one per name and thread count)."""
    file, sha256 = MODELS[name]
    return open_session(resources.files("refcli.weights").joinpath(file), sha256, threads)


def open_session(resource: Any, sha256: str, threads: int) -> Any:
    """An onnxruntime session of a model file inside refcli, after checking its checksum."""
    from refcli.onnx import onnxruntime

    try:
        data = resource.read_bytes()
    except FileNotFoundError:
        raise BackendError(f"{resource.name} is missing from refcli's install: reinstall refcli") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise BackendError(f"{resource.name} inside refcli is damaged (checksum mismatch): reinstall refcli")
    ort = onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def crop_square(image: npt.NDArray[np.uint8], box: tuple[float, float, float, float] | Any,
                size: int) -> tuple[npt.NDArray[np.uint8], float, tuple[float, float]]:
    """``box`` of ``image`` resized to ``size`` x ``size`` (bilinear; outside the image is black).

    Returns the crop, its scale (crop pixels per image pixel) and the box's top-left corner in
    the image, so that a point p in the crop is ``origin + p / scale`` in the image."""
    from PIL import Image

    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1, 1.0)
    picture = Image.fromarray(np.ascontiguousarray(image))
    crop = picture.transform((size, size), Image.Transform.EXTENT, (x1, y1, x1 + side, y1 + side),
                             resample=Image.Resampling.BILINEAR, fillcolor=(0, 0, 0))
    return np.asarray(crop), size / side, (x1, y1)
