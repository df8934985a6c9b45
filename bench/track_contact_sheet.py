"""Contact sheet of every track of one indexed video: one row per track, the person cut from
each of its keyframes, labelled with the track id and time range. For checking tracking by
eye: a row that shows two different people is an ID switch.

    python bench/track_contact_sheet.py --db DB VIDEO_PATH out.png [--min-samples 2]
"""

from __future__ import annotations

import argparse
import io
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from PIL import Image, ImageDraw  # noqa: E402

from refcli.store import Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("video")
    parser.add_argument("out")
    parser.add_argument("--min-samples", type=int, default=2)
    args = parser.parse_args()
    store = Store.open(args.db)
    record = store.contents.media()[store.contents.files()[os.path.abspath(args.video)].content_id]
    tracks = [t for t in store.contents.tracks(record.content_id, record.generation).values()
              if len(t["samples"]) >= args.min_samples]
    tracks.sort(key=lambda t: t["track"])
    cell_h, cell_w, label_w = 110, 70, 150
    sheet = Image.new("RGB", (label_w + 3 * cell_w, cell_h * max(1, len(tracks))), "white")
    draw = ImageDraw.Draw(sheet)
    for row, track in enumerate(tracks):
        y = row * cell_h
        draw.text((4, y + 4), f"#{track['track']}  {track['start']:.1f}-{track['end']:.1f} s\n"
                              f"{len(track['samples'])} samples", fill="black")
        for col, sample in enumerate(track["keyframes"]):
            frame = store.contents.keyframe(record.content_id, record.generation, sample)
            k = track["samples"].index(sample)
            box = [v * frame["scale"] for v in track["boxes"][4 * k:4 * k + 4]]
            crop = Image.open(io.BytesIO(frame["jpeg"])).crop(box)
            crop.thumbnail((cell_w - 4, cell_h - 4))
            sheet.paste(crop, (label_w + col * cell_w, y + 2))
    sheet.save(args.out)
    print(f"{len(tracks)} tracks with >= {args.min_samples} samples -> {args.out}")


if __name__ == "__main__":
    main()
