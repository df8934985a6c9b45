"""`find` and per-track lookup latency at 10k and 100k stored tracks, with and without the index.

    python bench/bench_find.py [--sizes 10000 100000]

Builds synthetic databases (10 tracks per video, 2 samples per track, 10 people per frame,
colours on every track) with the real store, then times, before and after `refcli optimize`
(compaction + BTREE index on content ids):
  find      `find "people in red"` end to end (scan frames, refer, build moments)
  lookup    one track by (content, generation, track): what `show` does per hit
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from refcli.query import find  # noqa: E402
from refcli.refer import create_referrer  # noqa: E402
from refcli.store import Store  # noqa: E402
from refcli.track import Rows  # noqa: E402

TRACKS_PER_VIDEO = 10


def build(path: str, tracks: int) -> tuple[Store, list[tuple[str, int, int]]]:
    store = Store.open(path, create=True)
    rng = random.Random(0)
    keys = []
    with store.writer():
        for start in range(0, tracks // TRACKS_PER_VIDEO, 500):
            rows, media, files = Rows(), [], []
            for v in range(start, min(start + 500, tracks // TRACKS_PER_VIDEO)):
                cid = f"{v:032x}"
                gen = store.new_generation()
                boxes = [[40.0 * t, 100.0, 40.0 * t + 30, 180.0] for t in range(TRACKS_PER_VIDEO)]
                for sample in range(2):
                    rows.frames.append({"content_id": cid, "generation": gen, "sample": sample, "time": sample / 2,
                                        "width": 768, "height": 576, "candidates": [
                                            {"box": b, "score": 0.9, "track": t} for t, b in enumerate(boxes)]})
                for t, b in enumerate(boxes):
                    colour = rng.choice(["red", "blue", "black", "gray"])
                    rows.tracks.append({
                        "content_id": cid, "generation": gen, "track": t, "start": 0.0, "end": 0.5, "time": 0.0,
                        "box": b, "score": 0.9, "samples": [0, 1], "times": [0.0, 0.5], "boxes": b + b,
                        "scores": [0.9, 0.9], "keyframes": [], "upper_colours": [{"name": colour, "share": 0.8}],
                        "lower_colours": [{"name": "blue", "share": 0.7}]})
                    keys.append((cid, gen, t))
                media.append({"content_id": cid, "kind": "video", "status": "ok", "error": None, "warnings": [],
                              "signature": "bench", "generation": gen, "decoder": "pyav", "width": 768,
                              "height": 576, "duration": 1.0, "samples": 2, "people": TRACKS_PER_VIDEO,
                              "indexed_at": 0.0, "refcli_version": "bench"})
                files.append({"path": f"/archive/v{v}.mp4", "content_id": cid, "kind": "video", "size": 1,
                              "mtime_ns": 1, "mode": 0o644, "error": None, "seen_at": 0.0, "gone_at": None})
            store.contents.commit(rows, media, files)
    return store, keys


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    referrer = create_referrer("embedded")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            store, keys = build(os.path.join(tmp, "db"), size)
            built = time.perf_counter() - start
            sample = random.Random(1).sample(keys, 50)
            results = {}
            for label in ("no index", "optimized + index"):
                if label != "no index":
                    with store.writer():
                        store.optimize(force=True)
                hits = find(store, "people in red", referrer).total
                results[label] = (
                    timed(lambda store=store: find(store, "people in red", referrer), 3),
                    timed(lambda store=store, sample=sample: [store.contents.tracks(c, g, [t])
                                                              for c, g, t in sample], 1)
                    / len(sample))
            (f0, l0), (f1, l1) = results["no index"], results["optimized + index"]
            print(f"{size:>7} tracks (built in {built:.0f} s, {hits} hits for 'people in red'):")
            print(f"   find    {f0:8.3f} s -> {f1:8.3f} s   ratio {f1 / f0:.2f}")
            print(f"   lookup  {1000 * l0:8.1f} ms -> {1000 * l1:8.1f} ms   ratio {l1 / l0:.2f}")


if __name__ == "__main__":
    main()
