"""Every sample of every track of one indexed video, as strips of person crops (decoded again
from the video). For counting ID switches by eye: a strip that changes person is a switch.

    python bench/track_strips.py --db DB VIDEO out_prefix [--min-samples 4] [--per-image 12]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from PIL import Image, ImageDraw  # noqa: E402

from refcli.io.video import sample_video  # noqa: E402
from refcli.store import Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("video")
    parser.add_argument("out_prefix")
    parser.add_argument("--min-samples", type=int, default=4)
    parser.add_argument("--per-image", type=int, default=12)
    args = parser.parse_args()
    store = Store.open(args.db)
    record = store.contents.media()[store.contents.files()[os.path.abspath(args.video)].content_id]
    tracks = sorted((t for t in store.contents.tracks(record.content_id, record.generation).values()
                     if len(t["samples"]) >= args.min_samples), key=lambda t: t["track"])
    wanted = {s for t in tracks for s in t["samples"]}
    frames = {s.index: Image.fromarray(s.image) for s in sample_video(args.video, args.fps) if s.index in wanted}
    cell, longest = 44, max(len(t["samples"]) for t in tracks)
    for page in range(0, len(tracks), args.per_image):
        chunk = tracks[page:page + args.per_image]
        sheet = Image.new("RGB", (110 + cell * longest, 2 * cell * len(chunk)), "white")
        draw = ImageDraw.Draw(sheet)
        for row, track in enumerate(chunk):
            y = row * 2 * cell
            draw.text((2, y + 2), f"#{track['track']}\n{track['start']:.1f}-{track['end']:.1f}s", fill="black")
            for col, sample in enumerate(track["samples"]):
                crop = frames[sample].crop(track["boxes"][4 * col:4 * col + 4])
                crop.thumbnail((cell - 2, 2 * cell - 2))
                sheet.paste(crop, (110 + col * cell, y))
        name = f"{args.out_prefix}{page // args.per_image}.png"
        sheet.save(name)
        print(name)


if __name__ == "__main__":
    main()
