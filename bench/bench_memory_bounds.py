"""Peak memory of `refcli index` on pictures and videos far larger than what the detector needs.

    python bench/bench_memory_bounds.py [--only NAME ...] [--keep DIR]

Generates the inputs (a 1-bit "bomb" PNG, a palette PNG, RGB PNGs just under and just over the
decode budget, a 12000x9000 JPEG, 4K and 8K H.264 clips made from real footage) into a
temporary folder (or DIR, where they are kept and reused), indexes each in its own `refcli
index` process on a fresh database and prints its peak RSS (ru_maxrss, os.wait4) next to a
small JPEG's, measured in the same run: ratios, not absolute numbers, compare across machines.

A child's ru_maxrss starts at its parent's peak (Linux carries the peak across fork and exec), so
each index runs under a small fresh Python that only waits for it, and the inputs are made in
processes of their own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "tests", "data")


def _upscaled_photo(size: tuple[int, int]) -> object:
    from PIL import Image

    with Image.open(os.path.join(DATA, "messi5.jpg")) as photo:
        return photo.convert("RGB").resize(size, Image.Resampling.BILINEAR)


def bomb_png(path: str) -> None:
    from PIL import Image

    Image.new("1", (13370, 13370), 1).save(path, optimize=True)  # ~38 KB on disk, 179 Mpx


def palette_png(path: str) -> None:
    picture = _upscaled_photo((16000, 10000)).quantize(64)  # type: ignore[attr-defined]
    picture.save(path, compress_level=1)


def rgb_png(width: int, height: int) -> Callable[[str], None]:
    def make(path: str) -> None:
        _upscaled_photo((width, height)).save(path, compress_level=1)  # type: ignore[attr-defined]
    return make


def big_jpeg(path: str) -> None:
    _upscaled_photo((12000, 9000)).save(path, quality=90)  # type: ignore[attr-defined]


def clip(width: int, height: int, seconds: float = 8.0) -> Callable[[str], None]:
    """Real footage (vtest_4s, people walking, played forth and back) upscaled to ``width`` x
    ``height``, H.264: 16 samples at 2 fps, enough to fill the decode queue and a batch."""
    def make(path: str) -> None:
        import av

        with av.open(os.path.join(DATA, "vtest_4s.mp4")) as source:
            stream = source.streams.video[0]
            rate = stream.average_rate or 10
            frames = [f.reformat(width=width, height=height, format="yuv420p") for f in source.decode(stream)]
        with av.open(path, "w") as out:
            encoder = out.add_stream("libx264", rate=rate)
            encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
            encoder.options = {"preset": "ultrafast", "crf": "28"}
            played = (frames + frames[::-1]) * int(1 + seconds * float(rate) // (2 * len(frames)))
            for n, big in enumerate(played[:int(seconds * float(rate))]):
                big.pts, big.time_base = n, Fraction(1, int(rate))
                for packet in encoder.encode(big):
                    out.mux(packet)
            for packet in encoder.encode():
                out.mux(packet)
    return make


INPUTS: dict[str, tuple[str, Callable[[str], None] | None]] = {
    "small_jpeg": ("messi5.jpg", None),  # the baseline: models and libraries, a 548x342 photo
    "small_video_4s": ("vtest_4s.mp4", None),  # what any video adds (decoder, tracker): 768x576
    "bomb_png_13370": ("bomb.png", bomb_png),
    "palette_png_16000x10000": ("palette.png", palette_png),
    "rgb_png_8000x8000": ("rgb_under.png", rgb_png(8000, 8000)),
    "rgb_png_8200x8200": ("rgb_over.png", rgb_png(8200, 8200)),
    "jpeg_12000x9000": ("big.jpg", big_jpeg),
    "clip_4k_8s": ("clip_4k.mp4", clip(3840, 2160)),
    "clip_8k_8s": ("clip_8k.mp4", clip(7680, 4320)),
}


_WAITER = ("import os, subprocess, sys; p = subprocess.Popen(sys.argv[1:]); _, s, u = os.wait4(p.pid, 0); "
           "sys.stderr.write(f'\\npeak-rss-kib {u.ru_maxrss}\\n'); sys.exit(os.waitstatus_to_exitcode(s))")


def index_peak(path: str) -> tuple[float, dict[str, object], str]:
    """(peak RSS in MiB, the --json summary, stderr) of one `refcli index` process."""
    exe = os.path.join(os.path.dirname(sys.executable), "refcli")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, "-c", _WAITER, exe, "index", path, "--db", os.path.join(tmp, "db"),
                               "--json"], capture_output=True, text=True)
    errors, _, peak = done.stderr.rpartition("\npeak-rss-kib ")
    if done.returncode != 0:
        raise SystemExit(f"refcli index failed on {path}: {errors.strip()[-500:]}")
    return int(peak) / 1024, json.loads(done.stdout), errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="names of inputs to measure (baseline always)")
    parser.add_argument("--keep", default=None, help="folder to generate the inputs into and keep")
    parser.add_argument("--make", nargs=2, metavar=("NAME", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make = INPUTS[args.make[0]][1]
        assert make is not None
        make(args.make[1])
        return
    names = ["small_jpeg"] + [n for n in INPUTS if n != "small_jpeg" and (not args.only or n in args.only)]
    with tempfile.TemporaryDirectory(prefix="refcli-membench-") as tmp:
        folder = args.keep or tmp
        os.makedirs(folder, exist_ok=True)
        baseline = None
        print(f"{'input':26s} {'file':>9s} {'peak RSS':>10s} {'/ base':>7s} {'+ base':>9s}  result")
        for name in names:
            file_name, make = INPUTS[name]
            path = os.path.join(DATA if make is None else folder, file_name)
            if make is not None and not os.path.exists(path):
                subprocess.run([sys.executable, __file__, "--make", name, path], check=True)
            peak, summary, errors = index_peak(path)
            baseline = baseline or peak
            failures = summary.get("failures") or []
            result = f"failed: {failures[0]['reason']}" if failures else f"{summary['people']} people"  # type: ignore[index]
            if "Warning" in errors or "Traceback" in errors:
                result += " (stderr: " + errors.strip().splitlines()[-1][:80] + ")"
            size = os.path.getsize(path)
            print(f"{name:26s} {size / 1e6:8.2f}M {peak:7.0f} MiB {peak / baseline:7.2f} {peak - baseline:+6.0f} MiB  "
                  f"{result}", flush=True)


if __name__ == "__main__":
    main()
