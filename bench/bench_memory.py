"""Peak memory of `refcli index` on 1 min vs 10 min of real footage: it must not grow with length.

    python bench/bench_memory.py [SOURCE_VIDEO]   (default ../shared/media/vtest.avi, else examples/footage/plaza.mp4)

Both inputs are re-encoded from the same real clip (looped for the long one), H.264 at the
source resolution and rate, cached under bench/.cache. Each index runs in its own process;
peak RSS is that process's ru_maxrss (os.wait4).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def make_clip(source: str, seconds: float, target: str) -> None:
    import av

    if os.path.exists(target):
        return
    with av.open(source) as first:
        stream = first.streams.video[0]
        rate = stream.average_rate or 10
        width, height = stream.codec_context.width, stream.codec_context.height
    needed = int(seconds * float(rate))
    written = 0
    with av.open(target + ".part.mp4", "w") as out:
        encoder = out.add_stream("libx264", rate=rate)
        encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
        encoder.options = {"preset": "veryfast", "crf": "26"}
        while written < needed:
            with av.open(source) as inp:
                for frame in inp.decode(video=0):
                    if written >= needed:
                        break
                    frame.pts = None
                    for packet in encoder.encode(frame.reformat(format="yuv420p")):
                        out.mux(packet)
                    written += 1
        for packet in encoder.encode():
            out.mux(packet)
    os.replace(target + ".part.mp4", target)


def index_peak(video: str) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of one `refcli index` process on a fresh database."""
    exe = os.path.join(os.path.dirname(sys.executable), "refcli")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        proc = subprocess.Popen([exe, "index", video, "--db", os.path.join(tmp, "db")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        if status != 0:
            raise SystemExit(f"refcli index failed on {video}")
    return usage.ru_maxrss / 1024, elapsed


def main() -> None:
    default = os.path.join(HERE, "..", "..", "shared", "media", "vtest.avi")
    if not os.path.exists(default):
        default = os.path.join(HERE, "..", "examples", "footage", "plaza.mp4")
    source = sys.argv[1] if len(sys.argv) > 1 else default
    cache = os.path.join(HERE, ".cache")
    os.makedirs(cache, exist_ok=True)
    results = {}
    for minutes in (1, 10):
        clip = os.path.join(cache, f"{os.path.splitext(os.path.basename(source))[0]}_{minutes}min.mp4")
        make_clip(source, minutes * 60, clip)
        results[minutes] = index_peak(clip)
        print(f"{minutes:2d} min: peak RSS {results[minutes][0]:7.1f} MiB, index {results[minutes][1]:6.1f} s")
    print(f"peak RSS 10 min / 1 min = {results[10][0] / results[1][0]:.3f}; "
          f"time 10 min / 1 min = {results[10][1] / results[1][1]:.2f}")


if __name__ == "__main__":
    main()
