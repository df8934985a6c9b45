"""Where models run: device choice, dtype, and batches that shrink when the GPU runs out of memory."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from refcli.errors import BackendError

T = TypeVar("T")
R = TypeVar("R")


def pick_device(name: str = "auto") -> str:
    """"auto": CUDA, else Apple MPS, else CPU; or exactly what was asked (checked)."""
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise BackendError(f"--device {name}: no CUDA device is visible (torch {torch.__version__})")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise BackendError("--device mps: Apple's MPS is not available here")
    return name


def dtype_for(device: str) -> Any:
    """bf16 on GPUs that have it (fp16 otherwise), fp32 on CPU where half precision is slow."""
    import torch

    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def default_batch_size(device: str, cpu: int = 1) -> int:
    """Images per batch when the user gives none: 8 on CUDA, ``cpu`` on the CPU, 1 elsewhere."""
    return 8 if device.startswith("cuda") else cpu if device == "cpu" else 1


def is_out_of_memory(err: BaseException) -> bool:
    import torch

    return isinstance(err, torch.OutOfMemoryError) or "out of memory" in str(err).lower()


def run_in_batches(fn: Callable[[Sequence[T]], list[R]], items: Sequence[T], batch_size: int,
                   on_shrink: Callable[[int], None] | None = None) -> list[R]:
    """``fn`` over ``items`` in batches; on out-of-memory the batch is halved and retried.

    The smaller size is kept for the rest of the run (memory does not come back between
    batches). A single item that does not fit is an error that says so.
    """
    out: list[R] = []
    size = max(1, batch_size)
    start = 0
    while start < len(items):
        chunk = items[start:start + size]
        try:
            out.extend(fn(chunk))
        except Exception as err:  # noqa: BLE001 - only out-of-memory is handled, the rest re-raised
            if not is_out_of_memory(err):
                raise
            _free_cache()
            if size == 1:
                raise BackendError("the model does not fit in memory even one request at a time: "
                                   "use a smaller model or --device cpu") from None
            size = max(1, size // 2)
            if on_shrink is not None:
                on_shrink(size)
            continue
        start += len(chunk)
    return out


def _free_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
