"""Make composite_walkers.mp4: real people cut from vtest.avi moving on known paths.

Run from the repository root with OpenCV's vtest.avi at hand (not needed by the tests):

    python tests/data/make_composite.py ../shared/media/vtest.avi [relink]

The background is the per-pixel median of 60 frames of vtest.avi (the plaza with nobody in
it). Four people are cut from single frames (boxes the detector found at score > 0.95, with
a 6 px margin, feathered edges) and pasted along straight paths on the paved plaza at 10 fps.
The test measures tracking, so the people are ones the detector sees well once pasted: a
first choice for B (a woman in a light jacket, vtest 14.5 s) was found in only 10 of 16
samples, which is detector recall, measured elsewhere. Walker A is
hidden for 1 s (an occlusion); the tracks and their time ranges are written to
composite_walkers.json, the ground truth of the tracking test.

``relink`` makes composite_relink.mp4 (and .json) instead: the same walkers, A hidden for 2.5 s,
longer than the tracker waits for a lost person (refcli.track.LOST_SECONDS), so that A's track
ends and a new one starts: the pieces refcli.relink must join again.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import av
import numpy as np

FPS = 10
SECONDS = 12
# name: (source time s, source box, start s, end s, start top-left, end top-left, hidden (from, to))
PEOPLE = {
    "A": (9.0, [286, 189, 324, 258], 0.0, 8.0, (20, 160), (640, 175), (3.5, 4.5)),
    "B": (53.0, [454, 192, 491, 284], 2.0, 10.0, (700, 250), (300, 225), None),
    "C": (47.0, [453, 213, 486, 300], 1.0, 6.0, (560, 110), (566, 114), None),
    "D": (29.5, [159, 165, 198, 231], 7.0, 12.0, (120, 175), (420, 150), None),
}
MARGIN = 6


def frames(path: str) -> list[np.ndarray]:
    with av.open(path) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def main(source: str, scene: str = "walkers") -> None:
    people = dict(PEOPLE)
    if scene == "relink":
        t, box, start, end, p0, p1, _hidden = people["A"]
        people["A"] = (t, box, start, end, p0, p1, (3.0, 5.5))
    video = frames(source)
    background = np.median(np.stack(video[:: max(1, len(video) // 60)]), axis=0).astype(np.float32)
    sprites = {}
    for name, (t, box, *_rest) in people.items():
        frame = video[int(round(t * FPS))]
        x1, y1, x2, y2 = box[0] - MARGIN, box[1] - MARGIN, box[2] + MARGIN, box[3] + MARGIN
        crop = frame[y1:y2, x1:x2].astype(np.float32)
        h, w = crop.shape[:2]
        ramp_y = np.minimum(np.arange(h), np.arange(h)[::-1]) / MARGIN
        ramp_x = np.minimum(np.arange(w), np.arange(w)[::-1]) / MARGIN
        alpha = np.clip(np.minimum(ramp_y[:, None], ramp_x[None, :]), 0, 1)[..., None]
        sprites[name] = (crop, alpha)
    truth = {}
    out_path = Path(__file__).with_name(f"composite_{scene}.mp4")
    with av.open(str(out_path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = background.shape[1], background.shape[0], "yuv420p"
        stream.options = {"crf": "23", "g": "50"}
        for i in range(FPS * SECONDS):
            t = i / FPS
            canvas = background.copy()
            for name, (_, _box, start, end, p0, p1, hidden) in people.items():
                if not start <= t <= end or (hidden and hidden[0] <= t < hidden[1]):
                    continue
                f = (t - start) / (end - start)
                x = int(round(p0[0] + f * (p1[0] - p0[0])))
                y = int(round(p0[1] + f * (p1[1] - p0[1])))
                crop, alpha = sprites[name]
                h, w = crop.shape[:2]
                region = canvas[y:y + h, x:x + w]
                region[:] = alpha * crop + (1 - alpha) * region
            frame = av.VideoFrame.from_ndarray(np.clip(canvas, 0, 255).astype(np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    for name, (_, _box, start, end, _p0, _p1, hidden) in people.items():
        truth[name] = {"start": start, "end": end, "hidden": hidden}
    out_path.with_suffix(".json").write_text(json.dumps(truth, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], *sys.argv[2:3])
