"""Index speed, as ratios against baselines measured in the same run on the same files.

    python bench/bench_index.py [PATH ...] [--fps 2] [--threads N]

Prints decode-only time, detection-only time (on the already decoded frames), full
`refcli index` time into a fresh database, and re-index time of the unchanged tree, then:
  overhead  = index / (decode-only + detection-only)   (target < 1.15; < 1 means overlap wins)
  reindex   = re-index / index                          (target < 0.05)
  tracking  = index / index without tracking and keyframes (the cost of tracks)
  throughput in sampled frames per second and in multiples of real time (videos).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from refcli.detect import create_detector  # noqa: E402
from refcli.index import IndexOptions, default_threads, run_index  # noqa: E402
from refcli.io.discover import FoundFile, walk  # noqa: E402
from refcli.io.image import load_image  # noqa: E402
from refcli.io.video import VideoReport, sample_video  # noqa: E402
from refcli.store import Store  # noqa: E402
from refcli.track import ByteTrackTracker  # noqa: E402


def main() -> None:
    default = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "media", "vtest.avi")
    if not os.path.exists(default):
        default = os.path.join(os.path.dirname(__file__), "..", "examples", "footage")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", default=[default])
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--decoder", default="auto")
    args = parser.parse_args()
    threads = args.threads or default_threads()
    files = [f for f in walk(args.paths) if isinstance(f, FoundFile)]

    start = time.perf_counter()
    images, duration = [], 0.0
    for f in files:
        if f.kind.value == "image":
            images.append(load_image(f.path))
            continue
        report = VideoReport()
        images.extend(s.image for s in sample_video(f.path, args.fps, decoder=args.decoder, report=report))
        duration += report.duration or 0.0
    decode = time.perf_counter() - start

    detector = create_detector("ssdlite", threads=threads)
    detector.detect(images[:1])  # load the model outside the timing, as index does once per run
    start = time.perf_counter()
    ByteTrackTracker(args.fps)  # import the tracking library outside the timing (once per process)
    tracker_import = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(0, len(images), 8):
        detector.detect(images[i:i + 8])
    detect = time.perf_counter() - start
    frames = len(images)
    del images

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(os.path.join(tmp, "db"), create=True)
        options = IndexOptions(fps=args.fps, decoder=args.decoder, detector_threads=threads)
        with store.writer():
            start = time.perf_counter()
            summary = run_index(args.paths, store, options, detector=detector)
            index = time.perf_counter() - start
            start = time.perf_counter()
            again = run_index(args.paths, store, options, detector=detector)
            reindex = time.perf_counter() - start
        plain = Store.open(os.path.join(tmp, "db-plain"), create=True)
        plain_options = IndexOptions(fps=args.fps, decoder=args.decoder, detector_threads=threads,
                                     tracking=False, keyframes=False)
        with plain.writer():
            start = time.perf_counter()
            run_index(args.paths, plain, plain_options, detector=detector)
            untracked = time.perf_counter() - start
    assert summary.frames == frames and again.unchanged == len(files), (summary, again)

    print(f"files {len(files)}, sampled frames {frames}, video {duration:.1f} s, fps {args.fps}, "
          f"detector threads {threads}, cores {os.cpu_count()}")
    print(f"decode-only     {decode:7.3f} s")
    print(f"detection-only  {detect:7.3f} s  ({1000 * detect / max(frames, 1):.1f} ms/frame)")
    print(f"index           {index:7.3f} s")
    print(f"re-index        {reindex:7.3f} s  (unchanged tree)")
    print(f"index, no tracks{untracked:7.3f} s  (every box its own track, no keyframes)")
    print(f"tracker import  {tracker_import:7.3f} s  (once per process, not in the times above)")
    print(f"overhead  index / (decode + detect) = {index / (decode + detect):.3f}")
    print(f"reindex   re-index / index          = {reindex / index:.4f}")
    print(f"tracking  index / index without     = {index / untracked:.3f}  ({summary.people} tracks)")
    print(f"throughput {frames / index:.1f} frames/s" + (f", {duration / index:.1f}x real time" if duration else ""))
    cli_first, cli_again = _cli_times(args.paths, args.fps)
    print(f"as a user runs it (new process each, start-up and imports included): "
          f"index {cli_first:.2f} s, re-index {cli_again:.2f} s, ratio {cli_again / cli_first:.3f}")


def _cli_times(paths: list[str], fps: float) -> tuple[float, float]:
    import subprocess

    exe = os.path.join(os.path.dirname(sys.executable), "refcli")
    with tempfile.TemporaryDirectory() as tmp:
        command = [exe, "index", *paths, "--db", os.path.join(tmp, "db"), "--fps", str(fps)]
        times = []
        for _ in range(2):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return times[0], times[1]


if __name__ == "__main__":
    main()
