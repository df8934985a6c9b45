"""`find` latency at 10k, 100k and 1M stored tracks, per query kind, judging every frame
(before) and answering from the tracks table where the query allows (after:
refcli.query.tracks), before and after `refcli optimize`; in process and as a CLI call.

    python bench/bench_find.py [--sizes 10000 100000 1000000] [--repeat 5] [--limit 20]
                               [--before-max 100000] [--cli] [--kinds KIND ...]

Builds databases with the real store: 10 tracks per video, 2 samples per track, 10 people per
frame, each track given clothing colours and face traits drawn from what refcli measured on real
people (the everyday set's shares: a quarter wear red), with faces for 1 track in 10, one named
person, and (with the pose extra) a body pose that BlazePose measured on a person of the test
media (POSED). Prints p50/p95 per kind with the ratio after/before and the frames each way
judges, measured in the same run; the frames path (before) only up to ``--before-max`` tracks
(it reads every frame: minutes at 1M), and above it only the kinds the tracks table answers and
those named in ``--kinds``. "After" answers from the tracks table where a track decides the
query, and otherwise reads only the frames that hold someone its cheap test keeps
(refcli.query.pushdown). ``--cli`` times `refcli find
--json` as a fresh process on the optimized database against the same call on a database of one
file (the start-up). Peak memory of the process (ru_maxrss) is printed after each size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from refcli.defaults import PEOPLE_MIN_SCORE  # noqa: E402
from refcli.index import run_index  # noqa: E402
from refcli.query import build_referrer, find  # noqa: E402
from refcli.query.backends import ReferrerSettings  # noqa: E402
from refcli.query.tracks import answers_alone  # noqa: E402
from refcli.store import Store  # noqa: E402
from refcli.track import Rows  # noqa: E402

TRACKS_PER_VIDEO = 10
KINDS = {
    "colour": "people in red",
    "gender+colour": "a man in red",
    "named": "Ada Lovelace",
    "everyone": "person",
    "position": "the person on the left",
    "pose": "a standing person",
    "motion": "a person walking left",
    "gender+position": "the man on the left",
    "named+position": "Ada Lovelace on the left",
    "rare pose": "a person with arms crossed",
}
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
UPPER = [[{"name": "red", "share": 0.6}], [{"name": "blue", "share": 0.7}],
         [{"name": "black", "share": 0.5}, {"name": "gray", "share": 0.3}], [{"name": "white", "share": 0.8}]]
MALE = [0.92, 0.81, 0.12, 0.33, 0.55]  # P(male) as FaceRes gives them; 0.55: not sure, unknown


POSED = ("messi5.jpg", "astronaut.jpg", "obama.jpg", "biden.jpg", "vtest_4s.mp4")


def real_poses() -> list[list[float]]:
    """The landmarks BlazePose gives the people of real photos and a real video (20; none
    without the pose extra): most stand, one has arms crossed."""
    from refcli.features.pose import available
    from refcli.index import IndexOptions

    if not available():
        return []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(os.path.join(tmp, "db"), create=True)
        with store.writer():
            run_index([os.path.join(ROOT, "tests", "data", name) for name in POSED], store, IndexOptions(pose=True))
        return store.contents.read("poses", ["landmarks"]).column("landmarks").to_pylist()


def build(path: str, tracks: int, poses: list[list[float]]) -> Store:
    store = Store.open(path, create=True)
    rng = random.Random(0)
    ada = [rng.gauss(0, 0.1) for _ in range(128)]
    signature = json.dumps({"pipeline": "bench", **({"pose": "bench"} if poses else {})})  # what pose readers read
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
                    if poses:
                        rows.add("poses", [{"content_id": cid, "generation": gen, "track": t, "sample": 0,
                                            "time": 0.0, "landmarks": rng.choice(poses)}])
                    if face and rng.random() < 0.3:
                        named = rng.random() < 0.01
                        rows.add("faces", [{"content_id": cid, "generation": gen, "track": t, "sample": 0, "box": b,
                                            "embedding": ada if named else [rng.gauss(0, 0.1) for _ in range(128)]}])
                media.append({"content_id": cid, "kind": "video", "status": "ok", "error": None, "warnings": [],
                              "signature": signature, "generation": gen, "decoder": "pyav", "width": 768,
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


def cli_call(db: str, query: str, repeat: int) -> tuple[float, float]:
    """p50/p95 wall time of `refcli find --json` as a fresh process."""
    command = [sys.executable, "-m", "refcli", "find", query, "--json", "--db", db]
    env = {**os.environ, "PYTHONPATH": ROOT}
    return timed(lambda: subprocess.run(command, check=True, capture_output=True, env=env, cwd=tempfile.gettempdir()),
                 repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--limit", type=int, default=20, help="find's --limit (0: the full answer)")
    parser.add_argument("--before-max", type=int, default=100_000, help="time the frames path up to this size")
    parser.add_argument("--cli", action="store_true", help="also time `refcli find` as a CLI call")
    parser.add_argument("--kinds", nargs="+", choices=list(KINDS), help="only these query kinds (all by default); "
                        "above --before-max these run after-only even when they read frames")
    args = parser.parse_args()
    limit = args.limit or None
    poses = real_poses()
    print(f"{len(poses)} real poses" if poses else "no pose extra: the pose kind finds nobody")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            store = build(os.path.join(tmp, "db"), size, poses)
            print(f"{size:>7} tracks (built in {time.perf_counter() - start:.0f} s), --limit {args.limit}:")
            before = size <= args.before_max
            for label in ("as written", "optimized"):
                if label == "optimized":
                    with store.writer():
                        store.optimize(force=True)
                referrer = build_referrer(ReferrerSettings(gallery=store.gallery.embeddings()))
                print(f"  {label}:  kind              hits   before p50/p95 (s)    after p50/p95 (s)   ratio p50"
                      "   frames judged before / after")
                for kind, query in KINDS.items():
                    if args.kinds and kind not in args.kinds:
                        continue
                    if not before and not args.kinds and not answers_alone(referrer.per_track(query),
                                                                           PEOPLE_MIN_SCORE):
                        print(f"    {kind:<16}  not run: it reads frames (minutes at this size; --kinds runs it)")
                        continue
                    runs, judged = {}, {}
                    for whole in (False, True) if before else (True,):
                        result = find(store, query, referrer, limit=limit, whole_tracks=whole)
                        judged[whole] = result.frames_judged
                        runs[whole] = timed(lambda s=store, r=referrer, w=whole, q=query: find(
                            s, q, r, limit=limit, whole_tracks=w), args.repeat)
                    a50, a95 = runs[True]
                    b50, b95 = runs.get(False, (float("nan"), float("nan")))
                    print(f"    {kind:<16} {result.total:>7}   {b50:8.3f} {b95:8.3f}      {a50:8.3f} {a95:8.3f}"
                          f"      {a50 / b50:6.3f}   {judged.get(False, '-'):>7} / {judged[True]}"
                          + (f"   ({result.unsupported[0][:40]})" if result.unsupported else ""))
            if args.cli:
                with tempfile.TemporaryDirectory() as small:
                    one = Store.open(os.path.join(small, "db"), create=True)
                    with one.writer():
                        run_index([os.path.join(ROOT, "tests", "data", "messi5.jpg")], one)
                    s50, s95 = cli_call(one.path, "people in red", args.repeat)
                    print(f"  CLI `refcli find --json`, p50/p95 (s): one photo (start-up) {s50:.3f} {s95:.3f}")
                    for kind in ("colour", "gender+colour", "named", "everyone"):
                        c50, c95 = cli_call(store.path, KINDS[kind], args.repeat)
                        print(f"    {kind:<14} {c50:.3f} {c95:.3f}   over start-up {c50 - s50:+.3f}")
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"  peak memory so far (ru_maxrss): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
