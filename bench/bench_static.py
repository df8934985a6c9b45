"""Static-camera footage (issue 20, item 4): what reusing the boxes of still samples saves and loses.

    python bench/bench_static.py [VIDEO ...] [--fps 2 5] [--rounds 2] [--quiet-clip] [--media DIR]

(default videos: vtest.avi, Megamind.avi, tree.avi of --media, the shared media folder next to
the repository, and the repository's plaza.mp4 and composite_walkers.mp4)

Each video is indexed into fresh temporary databases twice per round, detecting every sample
(the baseline) and with ``reuse_still`` (refcli.index.stillness), in alternating order, with
one detector loaded once and wrapped to count the images it is given. Prints per video and fps:

  detected   images the detector saw, baseline -> reuse (saved: the fraction not detected)
  speed      index time baseline / reuse (the faster of the rounds each; > 1: reuse is faster)
  lost       track-seconds lost: of every person track of the baseline (best score >= 0.3),
             the fraction of its samples where no person-track box of the reuse run at the same
             sample overlaps its box with IoU >= 0.5; each sample counts 1/fps seconds
  added      the same the other way: reuse-run track-seconds the baseline has no box for

and, on the first video's samples, what judging stillness costs: thumbnails per sample over
detection per sample (the thumbnails are made on the decoding thread, beside the detector).

``--quiet-clip`` also builds and measures ``quiet_plaza.mp4``, a constructed fixed-camera clip
(not real footage of a quiet scene): vtest.avi's plaza with nobody in it (the per-pixel median of
60 frames, as tests/data/make_composite.py) with fresh Gaussian noise (sigma 2) on every frame,
for 30 s, then 10 s of vtest.avi itself (10-20 s), 30 s empty, 10 s of vtest.avi (50-60 s):
people on screen a quarter of the time, H.264 crf 23, 10 fps.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from refcli.defaults import PEOPLE_MIN_SCORE  # noqa: E402
from refcli.detect import CountingDetector, Detector, create_detector  # noqa: E402
from refcli.detections import box_iou  # noqa: E402
from refcli.index import IndexOptions, default_threads, run_index  # noqa: E402
from refcli.index.stillness import thumbnail  # noqa: E402
from refcli.io.video import sample_video  # noqa: E402
from refcli.store import Store  # noqa: E402

MEDIA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "media")
REPO = os.path.join(os.path.dirname(__file__), "..")
SHARED_VIDEOS = ("vtest.avi", "Megamind.avi", "tree.avi")
REPO_VIDEOS = [os.path.join(REPO, "examples", "footage", "plaza.mp4"),
               os.path.join(REPO, "tests", "data", "composite_walkers.mp4")]


def index_once(path: str, fps: float, reuse: bool, detector: CountingDetector,
               tmp: str) -> tuple[float, int, list[Any], int]:
    """Seconds, detector images, person tracks (samples, boxes) and reused samples of one index."""
    store = Store.open(tempfile.mkdtemp(dir=tmp), create=True)
    before = detector.images
    with store.writer():
        start = time.perf_counter()
        summary = run_index([path], store, IndexOptions(fps=fps, reuse_still=reuse), detector=detector)
        seconds = time.perf_counter() - start
    assert not summary.failures, summary.failures
    media, _ = store.contents.current()
    tracks = store.contents.current_tracks(media, ["samples", "boxes", "score"]).to_pylist()
    people = [(t["samples"], t["boxes"]) for t in tracks if t["score"] >= PEOPLE_MIN_SCORE]
    return seconds, detector.images - before, people, summary.reused


def boxes_by_sample(tracks: list[Any]) -> dict[int, list[list[float]]]:
    out: dict[int, list[list[float]]] = {}
    for samples, boxes in tracks:
        for i, sample in enumerate(samples):
            out.setdefault(sample, []).append(boxes[4 * i:4 * i + 4])
    return out


def uncovered(tracks: list[Any], other: list[Any]) -> tuple[int, int]:
    """(track samples of ``tracks`` that no box of ``other`` at the same sample matches, all)."""
    theirs = boxes_by_sample(other)
    missed = total = 0
    for samples, boxes in tracks:
        for i, sample in enumerate(samples):
            total += 1
            box = boxes[4 * i:4 * i + 4]
            missed += not any(box_iou(box, b) >= 0.5 for b in theirs.get(sample, []))
    return missed, total


def quiet_clip(folder: str, media: str) -> str:
    """Build quiet_plaza.mp4 (see the module docstring) from vtest.avi; its path."""
    import av

    with av.open(os.path.join(media, "vtest.avi")) as container:
        video = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    background = np.median(np.stack(video[:: max(1, len(video) // 60)]), axis=0).astype(np.float32)
    rng = np.random.default_rng(0)
    fps = 10

    def empty(seconds: int) -> Any:
        for _ in range(seconds * fps):
            yield np.clip(background + rng.normal(0, 2, background.shape), 0, 255).astype(np.uint8)

    parts = [empty(30), iter(video[10 * fps:20 * fps]), empty(30), iter(video[50 * fps:60 * fps])]
    path = os.path.join(folder, "quiet_plaza.mp4")
    with av.open(path, "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = background.shape[1], background.shape[0], "yuv420p"
        stream.options = {"crf": "23", "g": "50"}
        for part in parts:
            for image in part:
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def thumbnail_cost(path: str, fps: float, detector: Detector) -> str:
    images = [s.image for s in sample_video(path, fps)]
    start = time.perf_counter()
    for image in images:
        thumbnail(image)
    thumbs = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(0, len(images), 8):
        detector.detect(images[i:i + 8])
    detect = time.perf_counter() - start
    return (f"stillness cost on {os.path.basename(path)}: thumbnail {1000 * thumbs / len(images):.2f} ms/sample, "
            f"detection {1000 * detect / len(images):.1f} ms/sample, ratio {thumbs / detect:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", nargs="*")
    parser.add_argument("--media", default=MEDIA, help="the folder of vtest.avi, Megamind.avi, tree.avi")
    parser.add_argument("--fps", type=float, nargs="+", default=[2.0, 5.0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quiet-clip", action="store_true")
    args = parser.parse_args()
    threads = default_threads()
    detector = CountingDetector(create_detector("ssdlite", threads=threads))
    detector.inner.detect([np.zeros((64, 64, 3), np.uint8)])  # the model loads outside the timing
    with tempfile.TemporaryDirectory() as tmp:
        videos = args.videos or [os.path.join(args.media, name) for name in SHARED_VIDEOS] + REPO_VIDEOS
        videos += [quiet_clip(tmp, args.media)] if args.quiet_clip else []
        index_once(videos[0], args.fps[0], False, detector, tmp)  # imports and first-run costs
        print(f"detector threads {threads}, cores {os.cpu_count()}, rounds {args.rounds}")
        print(thumbnail_cost(videos[0], args.fps[0], detector.inner))
        print(f"{'video':24} {'fps':>4} {'samples':>7} {'detected':>13} {'saved':>6} {'speed':>6} "
              f"{'person track-s':>14} {'lost':>6} {'added':>6}")
        unchanged: list[float] = []
        for path in videos:
            for fps in args.fps:
                times: dict[bool, list[float]] = {False: [], True: []}
                result: dict[bool, Any] = {}
                for r in range(args.rounds):
                    for reuse in ((False, True) if r % 2 == 0 else (True, False)):
                        seconds, images, tracks, reused = index_once(path, fps, reuse, detector, tmp)
                        times[reuse].append(seconds)
                        result[reuse] = (images, tracks, reused)
                (base_images, base_tracks, _), (images, tracks, reused) = result[False], result[True]
                lost, total = uncovered(base_tracks, tracks)
                added, total_reuse = uncovered(tracks, base_tracks)
                speed = min(times[False]) / min(times[True])
                print(f"{os.path.basename(path):24} {fps:4g} {base_images:7d} {base_images:5d} -> {images:5d} "
                      f"{1 - images / max(base_images, 1):6.1%} {speed:6.2f} {total / fps:14.1f} "
                      f"{lost / max(total, 1):6.2%} {added / max(total_reuse, 1):6.2%}")
                assert images + reused == base_images, (images, reused, base_images)
                if images == base_images:
                    unchanged.append(speed)
        if unchanged:
            print(f"where nothing was reused ({len(unchanged)} runs): speed median {np.median(unchanged):.2f}, "
                  f"range {min(unchanged):.2f}-{max(unchanged):.2f} (the overhead, and this machine's noise)")


if __name__ == "__main__":
    main()
