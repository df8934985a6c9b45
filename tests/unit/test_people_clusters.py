"""Grouping faces into people, on synthetic embeddings: new faces join the people already known,
ids never change, merges keep the older id, different names never merge, and a chain of
look-alikes does not join two people."""

from __future__ import annotations

import numpy as np

from refcli.people.clusters import Clustering, FaceKey, SeenFace, cluster

RNG = np.random.default_rng(7)
DIM = 128


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


A, B, C = (unit(RNG.normal(size=DIM)) for _ in range(3))  # three people, ~1.4 apart


def face(content: str, track: int, who: np.ndarray, noise: float = 0.1) -> SeenFace:
    return SeenFace(FaceKey(content, 1, track, 0), unit(who + RNG.normal(scale=noise / np.sqrt(DIM), size=DIM)))


def run(faces: list[SeenFace], before: Clustering | None = None, names: dict[int, str | None] | None = None,
        known: dict[FaceKey, int] | None = None) -> Clustering:
    known = dict(known or {}) if before is None else {**(known or {}), **before.assigned}
    ids = dict(names or {})
    for pid in set(known.values()):
        ids.setdefault(pid, None)
    return cluster(faces, known, ids, threshold=0.5, next_id=max(ids, default=0) + 1)


def people_of(result: Clustering) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for key, pid in result.assigned.items():
        out.setdefault(pid, set()).add(key.content_id)
    return out


def test_faces_group_by_person() -> None:
    faces = [face("a1", 0, A), face("b1", 0, B), face("a2", 0, A), face("a3", 1, A), face("b2", 0, B)]
    people = people_of(run(faces))
    assert sorted(map(sorted, people.values())) == [["a1", "a2", "a3"], ["b1", "b2"]]


def test_new_faces_join_and_ids_stay() -> None:
    first = [face("a1", 0, A), face("b1", 0, B)]
    before = run(first)
    again = run(first, before)
    assert again.assigned == {} and again.created == [] and again.merged == []  # nothing new: nothing decided
    later = run([*first, face("a2", 0, A), face("c1", 0, C)], before)
    assert later.assigned[FaceKey("a2", 1, 0, 0)] == before.assigned[FaceKey("a1", 1, 0, 0)]
    assert later.created == [max(before.assigned.values()) + 1]  # C is someone new, with a new id


def test_the_same_archive_gives_the_same_people() -> None:
    faces = [face(f"x{i}", 0, (A, B, C)[i % 3]) for i in range(12)]
    one, two = run(faces), run(list(reversed(faces)))
    assert one.assigned == two.assigned


def test_people_who_turn_out_one_are_merged_into_the_older_id() -> None:
    # two faces of A seen far apart (profile, lighting) first make two people; the faces between
    # them bring their centres together
    left, right = unit(A + 0.45 * B), unit(A - 0.45 * B)
    before = run([face("p1", 0, left, 0.0), face("p2", 0, right, 0.0)])
    assert len(set(before.assigned.values())) == 2
    bridging = [face(f"m{i}", 0, A, 0.05) for i in range(6)]
    after = run([face("p1", 0, left, 0.0), face("p2", 0, right, 0.0), *bridging], before)
    ids = sorted(set(before.assigned.values()))
    assert after.merged == [(ids[1], ids[0])]
    assert set(after.assigned.values()) == {ids[0]}


def test_different_names_never_merge() -> None:
    left, right = unit(A + 0.2 * B), unit(A - 0.2 * B)
    known = {FaceKey("p1", 1, 0, 0): 1, FaceKey("p2", 1, 0, 0): 2}
    faces = [face("p1", 0, left, 0.0), face("p2", 0, right, 0.0)]
    named = run(faces, names={1: "Ada", 2: "Grace"}, known=known)
    assert named.merged == []
    unnamed = run(faces, names={1: "Ada", 2: None}, known=known)
    assert unnamed.merged == [(2, 1)]


def test_a_chain_of_look_alikes_does_not_join_two_people() -> None:
    """Faces stepping from A to B, each close to the last: the centre check stops the chain."""
    steps = [face(f"s{i:02d}", 0, unit((1 - t) * A + t * B), 0.0) for i, t in enumerate(np.linspace(0, 1, 15))]
    people = people_of(run(steps))
    assert len(people) >= 2
    assert not any({"s00", "s14"} <= members for members in people.values())
