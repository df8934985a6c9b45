"""Where indexing and referring run: in this process (the default) or on a Ray cluster.

An executor takes the planned jobs and must leave the database exactly as the local one does:
the same rows for the same files, written by one writer (this process) under generations that
become current only when a file is whole. Only the settings live here, so that importing them
costs nothing; ``refcli.executors.ray_cluster`` imports Ray when a run asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from refcli.registry import Registry

if TYPE_CHECKING:
    from refcli.index.options import IndexContext
    from refcli.index.plan import Job


class IndexExecutor(Protocol):
    """Runs the jobs of one `refcli index` and commits their rows through the store's one writer."""

    def __init__(self, context: IndexContext) -> None: ...

    def run(self, jobs: list[Job]) -> None: ...


index_executors: Registry[IndexExecutor] = Registry("executor")
index_executors.register("local", "refcli.index.local:LocalIndexer")
index_executors.register("ray", "refcli.executors.ray_cluster:RayIndexer", extra="ray")


@dataclass(frozen=True)
class RayOptions:
    """How to use Ray.

    Attributes:
        address: a cluster to join ("auto", "ray://host:10001", "host:6379"); None starts a local
            instance for this run and stops it afterwards.
        min_actors, max_actors: detector actors; the pool starts at ``min_actors`` and adds one
            while files wait and the cluster has room for it, up to ``max_actors``.
        gpus_per_actor: GPU fraction per model actor (0.5 packs two on a GPU; 0: CPU).
        cpus_per_actor: CPUs reserved per model actor.
        max_attempts: a file whose worker dies is tried again, on any node, this many times in all.
    """

    address: str | None = None
    min_actors: int = 1
    max_actors: int = 1
    gpus_per_actor: float = 0.0
    cpus_per_actor: float = 1.0
    max_attempts: int = 3

    @classmethod
    def parse_actors(cls, text: str) -> tuple[int, int]:
        """"4" -> (4, 4); "1-8" -> (1, 8)."""
        low, _, high = text.partition("-")
        try:
            bounds = (int(low), int(high or low))
        except ValueError:
            raise ValueError(f"--actors takes N or MIN-MAX, not {text!r}") from None
        if bounds[0] < 1 or bounds[1] < bounds[0]:
            raise ValueError(f"--actors takes N or MIN-MAX with 1 <= MIN <= MAX, not {text!r}")
        return bounds
