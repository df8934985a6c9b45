"""Local vs `--ray` indexing throughput, Ray's fixed start-up cost, and per-stage costs.

    RAY_AUTH_MODE=disabled python bench/bench_ray.py [PATH ...] [--fps 10] [--actors 1]

Per-stage costs (one core each, measured here on the same frames): decode, detect (the
embedded detector), track + keyframes (TrackBuilder on the detections), write (store commits).
Then, each into a fresh database: `refcli index` locally, and with `--ray` on a local Ray
instance (start-up included, and also reported alone). Prints ratios; the README turns the
per-stage costs into the arithmetic of how a cluster scales.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

from refcli.detect import create_detector  # noqa: E402
from refcli.executors import RayOptions  # noqa: E402
from refcli.features import enabled  # noqa: E402
from refcli.index import IndexOptions, run_index  # noqa: E402
from refcli.index.file_run import new_builder  # noqa: E402
from refcli.index.plan import Job  # noqa: E402
from refcli.io.discover import FoundFile, walk  # noqa: E402
from refcli.io.image import load_image  # noqa: E402
from refcli.io.video import sample_video  # noqa: E402
from refcli.store import Store  # noqa: E402
from refcli.track import Rows  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def stage_costs(files: list[FoundFile], fps: float) -> dict[str, float]:
    """Seconds per sampled frame of each stage, run one after the other on one core."""
    start = time.perf_counter()
    decoded = []
    for f in files:
        if f.kind.value == "image":
            decoded.append((f.path, f.kind.value, [(0, None, load_image(f.path))]))
        else:
            decoded.append((f.path, f.kind.value, [(s.index, s.time, s.image) for s in sample_video(f.path, fps)]))
    frames = sum(len(samples) for _, _, samples in decoded)
    decode = time.perf_counter() - start
    detector = create_detector("ssdlite", threads=1)
    detector.detect([decoded[0][2][0][2]])
    start = time.perf_counter()
    detections = [detector.detect([image for _, _, image in samples]) for _, _, samples in decoded]
    detect = time.perf_counter() - start
    options = IndexOptions(fps=fps)
    start = time.perf_counter()
    all_rows = Rows()
    for n, ((path, kind, samples), found) in enumerate(zip(decoded, detections)):
        builder = new_builder(Job(path, kind, f"{n:016x}", "new"), 1, options, enabled({}))
        for (index, when, image), boxes in zip(samples, found):
            all_rows.extend(builder.add(index, when, boxes, image))
        all_rows.extend(builder.finish())
    track = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(os.path.join(tmp, "db"), create=True)
        with store.writer():
            start = time.perf_counter()
            for first in range(0, len(all_rows.frames), 1000):  # commits of the size index makes
                part = Rows(frames=all_rows.frames[first:first + 1000])
                if first == 0:
                    part.tracks, part.keyframes = all_rows.tracks, all_rows.keyframes
                store.contents.commit(part)
            write = time.perf_counter() - start
    return {"frames": frames, "decode": decode / frames, "detect": detect / frames, "track": track / frames,
            "write": write / frames}


def index_seconds(paths: list[str], fps: float, ray: RayOptions | None) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(os.path.join(tmp, "db"), create=True)
        with store.writer():
            start = time.perf_counter()
            summary = run_index(paths, store, IndexOptions(fps=fps, ray=ray))
            return time.perf_counter() - start, summary.frames


def ray_startup(options: RayOptions) -> float:
    import ray

    from refcli.executors.ray_cluster import _DetectorPool, connect

    start = time.perf_counter()
    connect(options)
    pool = _DetectorPool(IndexOptions(ray=options), create_detector("ssdlite").version)
    seconds = time.perf_counter() - start
    pool.close()
    ray.shutdown()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    shared = os.path.join(HERE, "..", "..", "shared", "media", "vtest.avi")
    default = [p for p in (shared, os.path.join(HERE, "..", "examples", "footage", "plaza.mp4")) if os.path.exists(p)]
    parser.add_argument("paths", nargs="*", default=default)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--actors", type=int, default=1)
    args = parser.parse_args()
    files = [f for f in walk(args.paths) if isinstance(f, FoundFile)]
    costs = stage_costs(files, args.fps)
    print(f"{len(files)} files, {costs['frames']} sampled frames at {args.fps} fps, {os.cpu_count()} cores")
    for stage in ("decode", "detect", "track", "write"):
        print(f"  {stage:<7}{1000 * costs[stage]:6.2f} ms/frame")
    options = RayOptions(min_actors=args.actors, max_actors=args.actors)
    startup = ray_startup(options)
    local, frames = index_seconds(args.paths, args.fps, None)
    on_ray, ray_frames = index_seconds(args.paths, args.fps, options)
    assert frames == ray_frames == costs["frames"]
    print(f"local index     {local:7.2f} s  {frames / local:6.1f} frames/s")
    print(f"--ray index     {on_ray:7.2f} s  {frames / on_ray:6.1f} frames/s  (start-up included)")
    print(f"ray start-up    {startup:7.2f} s  (ray.init + {args.actors} detector actor(s) ready)")
    print(f"throughput ratio ray/local = {local / on_ray:.2f}; without start-up = {local / (on_ray - startup):.2f}")


if __name__ == "__main__":
    main()
