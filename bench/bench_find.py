"""`find` latency at 10k and 100k stored tracks, per query kind, judging every frame (before)
and judging whole tracks where the query allows (after: refcli.query.tracks), before and after
`refcli optimize`.

    python bench/bench_find.py [--sizes 10000 100000] [--repeat 5] [--limit 20]

Builds databases with the real store: 10 tracks per video, 2 samples per track, 10 people per
frame, each track given clothing colours and face traits drawn from what refcli measured on real
people (the everyday set's shares: a quarter wear red), with faces for 1 track in 10 and one
named person. Prints p50/p95 per kind with the ratio after/before, measured in the same run,
and peak memory of the process (ru_maxrss) at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from refcli.query import build_referrer, find  # noqa: E402
from refcli.query.backends import ReferrerSettings  # noqa: E402
from refcli.store import Store  # noqa: E402
from refcli.track import Rows  # noqa: E402

TRACKS_PER_VIDEO = 10
KINDS = {
    "colour": "people in red",
    "gender+colour": "a man in red",
    "named": "Ada Lovelace",
    "everyone": "person",
    "position": "the person on the left",
    "motion": "a person walking left",
}
UPPER = [[{"name": "red", "share": 0.6}], [{"name": "blue", "share": 0.7}],
         [{"name": "black", "share": 0.5}, {"name": "gray", "share": 0.3}], [{"name": "white", "share": 0.8}]]
MALE = [0.92, 0.81, 0.12, 0.33, 0.55]  # P(male) as FaceRes gives them; 0.55: not sure, unknown


def build(path: str, tracks: int) -> Store:
    store = Store.open(path, create=True)
    rng = random.Random(0)
    ada = [rng.gauss(0, 0.1) for _ in range(128)]
    with store.writer():
        store.gallery.add([{"name": "Ada Lovelace", "embedding": ada, "source": "bench", "added_at": 0.0}])
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
                    face = rng.random() < 0.3
                    rows.tracks.append({
                        "content_id": cid, "generation": gen, "track": t, "start": 0.0, "end": 0.5, "time": 0.0,
                        "box": b, "score": 0.9, "samples": [0, 1], "times": [0.0, 0.5], "boxes": b + b,
                        "scores": [0.9, 0.9], "keyframes": [], "upper_colours": rng.choice(UPPER),
                        "lower_colours": [{"name": "blue", "share": 0.7}],
                        "motion": [rng.choice([-0.8, 0.0, 0.8]), 0.0, 0.9] * 2,
                        "face_traits": {"faces": 1, "face_px": 40.0, "male": rng.choice(MALE),
                                        "ages": [0.0, 0.0, 0.1, 0.3, 0.5, 0.1],
                                        "expressions": [0.0, 0.0, 0.0, 0.2, 0.0, 0.0, 0.8]} if face else None})
                    if face and rng.random() < 0.3:
                        named = rng.random() < 0.01
                        rows.add("faces", [{"content_id": cid, "generation": gen, "track": t, "sample": 0, "box": b,
                                            "embedding": ada if named else [rng.gauss(0, 0.1) for _ in range(128)]}])
                media.append({"content_id": cid, "kind": "video", "status": "ok", "error": None, "warnings": [],
                              "signature": "bench", "generation": gen, "decoder": "pyav", "width": 768,
                              "height": 576, "duration": 1.0, "samples": 2, "people": TRACKS_PER_VIDEO,
                              "indexed_at": 0.0, "refcli_version": "bench", "joins": []})
                files.append({"path": f"/archive/v{v}.mp4", "content_id": cid, "kind": "video", "size": 1,
                              "mtime_ns": 1, "mode": 0o644, "error": None, "seen_at": 0.0, "gone_at": None})
            store.contents.commit(rows, media, files)
    return store


def timed(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--limit", type=int, default=20, help="find's --limit (0: the full answer)")
    args = parser.parse_args()
    limit = args.limit or None
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            store = build(os.path.join(tmp, "db"), size)
            print(f"{size:>7} tracks (built in {time.perf_counter() - start:.0f} s), --limit {args.limit}:")
            for label in ("as written", "optimized"):
                if label == "optimized":
                    with store.writer():
                        store.optimize(force=True)
                referrer = build_referrer(ReferrerSettings(gallery=store.gallery.embeddings()))
                print(f"  {label}:  kind            hits   before p50/p95 (s)    after p50/p95 (s)   ratio p50")
                for kind, query in KINDS.items():
                    runs = {}
                    for whole in (False, True):
                        result = find(store, query, referrer, limit=limit, whole_tracks=whole)
                        runs[whole] = timed(lambda s=store, r=referrer, w=whole, q=query: find(
                            s, q, r, limit=limit, whole_tracks=w), args.repeat)
                    (b50, b95), (a50, a95) = runs[False], runs[True]
                    print(f"    {kind:<14} {result.total:>7}   {b50:8.3f} {b95:8.3f}      {a50:8.3f} {a95:8.3f}"
                          f"      {a50 / b50:6.3f}" + (f"   ({result.unsupported[0][:40]})" if result.unsupported
                                                      else ""))
    print(f"peak memory (ru_maxrss): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
