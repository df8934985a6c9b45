"""Faces grouped into people, incrementally: new faces join the people already known, and ids
never change from run to run (a merge keeps the older id and says so).

Pure: it takes the faces and what was decided before, and returns the new decisions; the store
keeps them (refcli.store.people). A face joins the person whose faces are nearest on average,
when that average is within ``threshold`` (average linkage: one look-alike face does not pull a
stranger in, as it would if the nearest face decided; the centre, the mean of their faces, is
nearer than the average, and only rules people out). Two people merge when their faces come that
close on average. Faces are visited in a fixed order (by where they were seen), so the same
archive gives the same people.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

MIN_FACES = 2
"""A person is listed once this many faces are theirs (one face could be anyone passing by)."""
SAMPLE = 256
"""At most this many of a person's faces are compared with a face (the first ones, in order)."""


class FaceKey(NamedTuple):
    """Where a face was seen: the keyframe of a track of an indexed content."""

    content_id: str
    generation: int
    track: int
    sample: int


@dataclass(frozen=True)
class SeenFace:
    key: FaceKey
    embedding: npt.NDArray[np.float32]


class People:
    """The people so far: for each, the sum of their faces (for the centre) and the faces (for
    the nearest one), in arrays that grow, so that a face is compared with everyone at once."""

    def __init__(self, dim: int, names: Mapping[int, str | None]) -> None:
        self.ids: list[int] = []
        self.names: dict[int, str | None] = dict(names)
        self.totals = np.zeros((16, dim), np.float64)
        self.counts = np.zeros(16, np.int64)
        self.faces: dict[int, list[npt.NDArray[np.float32]]] = {}
        self.row: dict[int, int] = {}

    def add(self, pid: int, embedding: npt.NDArray[np.float32]) -> None:
        if pid not in self.row:
            if len(self.ids) == len(self.counts):
                self.totals = np.concatenate([self.totals, np.zeros_like(self.totals)])
                self.counts = np.concatenate([self.counts, np.zeros_like(self.counts)])
            self.row[pid] = len(self.ids)
            self.ids.append(pid)
            self.faces[pid] = []
        r = self.row[pid]
        self.totals[r] += embedding
        self.counts[r] += 1
        self.faces[pid].append(embedding)

    def centres(self) -> npt.NDArray[np.float64]:
        n = len(self.ids)
        return self.totals[:n] / np.maximum(1, self.counts[:n])[:, None]

    def nearest(self, embedding: npt.NDArray[np.float32], threshold: float) -> int | None:
        """The person whose faces are nearest to this one on average, if that is within ``threshold``."""
        if not self.ids:
            return None
        to_centre = np.where(self.counts[:len(self.ids)] > 0,
                             np.linalg.norm(self.centres() - embedding, axis=1), np.inf)
        best: tuple[float, int] | None = None
        for r in np.flatnonzero(to_centre < threshold):  # the centre is never farther than the average
            pid = self.ids[int(r)]
            average = float(np.mean(np.linalg.norm(self.sample(pid) - embedding, axis=1)))
            if average < threshold and (best is None or average < best[0]):
                best = (average, pid)
        return None if best is None else best[1]

    def sample(self, pid: int) -> npt.NDArray[np.float32]:
        return np.stack(self.faces[pid][:SAMPLE])

    def average_distance(self, a: int, b: int) -> float:
        """The mean distance between a face of ``a`` and a face of ``b``."""
        x, y = self.sample(a), self.sample(b)
        squares = np.einsum("ij,ij->i", x, x)[:, None] + np.einsum("ij,ij->i", y, y)[None, :] - 2.0 * x @ y.T
        return float(np.mean(np.sqrt(np.maximum(0.0, squares))))

    def merge(self, gone: int, keep: int) -> None:
        for embedding in self.faces.pop(gone):
            self.add(keep, embedding)
        r = self.row.pop(gone)
        self.totals[r] = 0.0
        self.counts[r] = 0
        self.names[keep] = self.names.get(keep) or self.names.get(gone)


@dataclass(frozen=True)
class Clustering:
    """What a run decided: faces newly given to a person, people merged (from, into), and the
    ids of the people it created."""

    assigned: dict[FaceKey, int]
    merged: list[tuple[int, int]]
    created: list[int]


def cluster(faces: Sequence[SeenFace], known: Mapping[FaceKey, int], names: Mapping[int, str | None],
            threshold: float, next_id: int) -> Clustering:
    """Give every face not in ``known`` to a person: the nearest one it is close enough to, or a
    new one. ``known`` is what earlier runs decided (face -> person id), ``names`` every person id
    there is (with its name, or None). Then people whose centres came within ``threshold`` of each
    other are merged into the older id, unless both have different names."""
    if not faces:
        return Clustering({}, [], [])
    people = People(len(faces[0].embedding), names)
    by_key = {face.key: face for face in faces}
    for key in sorted(known):
        if key in by_key and known[key] in people.names:
            people.add(known[key], by_key[key].embedding)
    assigned: dict[FaceKey, int] = {}
    created: list[int] = []
    for face in sorted((f for f in faces if f.key not in known), key=lambda f: f.key):
        pid = people.nearest(face.embedding, threshold)
        if pid is None:
            pid, next_id = next_id, next_id + 1
            people.names[pid] = None
            created.append(pid)
        people.add(pid, face.embedding)
        assigned[face.key] = pid
    merged = _merge_close(people, threshold)
    into = dict(merged)
    for key, pid in assigned.items():
        while pid in into:
            pid = into[pid]
        assigned[key] = pid
    return Clustering(assigned, merged, [pid for pid in created if pid not in into])


def _merge_close(people: People, threshold: float) -> list[tuple[int, int]]:
    """Merge people whose faces are within ``threshold`` of each other on average, the newer into
    the older, closest pair first; two people with different names stay apart."""
    merged: list[tuple[int, int]] = []
    while True:
        live = [pid for pid in people.ids if pid in people.row]
        if len(live) < 2:
            return merged
        centres = people.centres()[[people.row[pid] for pid in live]]
        squares = np.einsum("ij,ij->i", centres, centres)
        d = np.sqrt(np.maximum(0.0, squares[:, None] + squares[None, :] - 2.0 * centres @ centres.T))
        np.fill_diagonal(d, np.inf)
        named = [(i, people.names[pid]) for i, pid in enumerate(live) if people.names.get(pid)]
        for i, a in named:
            for j, b in named:
                if a != b:
                    d[i, j] = np.inf
        # centres closer than the threshold are candidates (the average is never nearer)
        close = [(people.average_distance(live[i], live[j]), live[i], live[j])
                 for i, j in zip(*np.nonzero(np.triu(d < threshold, 1)))]
        close = [c for c in close if c[0] < threshold]
        if not close:
            return merged
        _, a, b = min(close)
        keep, gone = min(a, b), max(a, b)
        people.merge(gone, keep)
        merged.append((gone, keep))
