"""Vectorised reductions over Arrow list columns (a track's samples, a frame's candidates, a
track's poses): each list's length, and whether any of its flattened items holds."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc


def list_lengths(column: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.int64]:
    """Each list's length; 0 for a null one (``pc.list_flatten`` gives it no items)."""
    return pc.fill_null(pc.list_value_length(column), 0).to_numpy(zero_copy_only=False).astype(np.int64)


def any_per_list(flags: npt.NDArray[np.bool_], lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Per list, whether any of its items is flagged: ``flags`` per flattened item, in order,
    ``lengths`` per list (summing to the items)."""
    rows = np.repeat(np.arange(len(lengths)), lengths)
    return np.bincount(rows, weights=flags, minlength=len(lengths)) > 0
