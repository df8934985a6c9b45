"""The pieces refcli joins as one person (refcli.relink), side by side for checking by eye: the
last crop of a piece, then the first crop of the piece it continues with. A pair that shows two
people is a wrong join (an identity switch that joining made).

    python bench/relink_pairs.py --db DB VIDEO out_prefix [--per-image 16]

Prints how many pieces the video has, how many were joined, and writes out_prefix-N.png.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from PIL import Image, ImageDraw  # noqa: E402

from refcli.io.video import sample_video  # noqa: E402
from refcli.relink import chains, pieces_of  # noqa: E402
from refcli.store import Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--fps", type=float, default=2.0, help="the fps the video was indexed at")
    parser.add_argument("video")
    parser.add_argument("out_prefix")
    parser.add_argument("--per-image", type=int, default=16)
    args = parser.parse_args()
    store = Store.open(args.db)
    record = store.contents.media()[store.contents.files()[os.path.abspath(args.video)].content_id]
    pieces = {p.track: p for p in pieces_of(store, record.content_id, record.generation)}
    tracks = store.contents.tracks(record.content_id, record.generation)
    joins = sorted(chains(list(pieces.values())).items())
    print(f"{len(pieces)} pieces, {len(joins)} joined to the next")
    wanted = {tracks[a]["samples"][-1] for a, _ in joins} | {tracks[b]["samples"][0] for _, b in joins}
    frames = {s.index: Image.fromarray(s.image) for s in sample_video(args.video, args.fps) if s.index in wanted}
    cell = 120
    for page in range(0, len(joins), args.per_image):
        chunk = joins[page:page + args.per_image]
        sheet = Image.new("RGB", (4 * cell + 40, (cell + 14) * ((len(chunk) + 1) // 2)), "white")
        draw = ImageDraw.Draw(sheet)
        for k, (a, b) in enumerate(chunk):
            x0, y0 = (k % 2) * (2 * cell + 40), (k // 2) * (cell + 14)
            for side, (track, index) in enumerate(((a, -1), (b, 0))):
                sample = tracks[track]["samples"][index]
                x1, y1, x2, y2 = tracks[track]["boxes"][4 * (index % len(tracks[track]["samples"])):][:4]
                crop = frames[sample].crop((int(x1), int(y1), int(x2), int(y2)))
                crop.thumbnail((cell - 4, cell - 4))
                sheet.paste(crop, (x0 + side * cell + 2, y0 + 2))
            draw.text((x0 + 2, y0 + cell), f"#{page + k + 1}: {a} -> {b}  "
                      f"{pieces[a].end:.1f}s -> {pieces[b].start:.1f}s", fill="black")
        path = f"{args.out_prefix}-{page // args.per_image + 1}.png"
        sheet.save(path)
        print(path)


if __name__ == "__main__":
    main()
