"""Pictures of hits: the frame a person was found in, with their box drawn."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from refcli.errors import MediaError, OutputPathError, RefcliError
from refcli.io.discover import display_path
from refcli.io.image import Picture
from refcli.keyframes import decode_keyframe
from refcli.store import FileRecord, MediaRecord, Store

BOX_COLOUR = (255, 40, 40)


@dataclass(frozen=True)
class HitRef:
    """What a hit id names: content (id prefix), track, and the sample of its best box."""

    content: str
    track: int
    sample: int

    @classmethod
    def parse(cls, text: str) -> HitRef:
        try:
            content, track, sample = text.strip().split(":")
            return cls(content.lower(), int(track), int(sample))
        except ValueError:
            raise RefcliError(f"not a hit id: {text!r} (expected CONTENT:TRACK:SAMPLE, as `refcli find` prints)") \
                from None

    def __str__(self) -> str:
        return f"{self.content}:{self.track}:{self.sample}"


def hit_id(content_id: str, track: int, sample: int) -> str:
    """The id of a hit (HitRef's text), written directly: an answer may have a million."""
    return f"{content_id[:16]}:{track}:{sample}"


def hit_picture(store: Store, ref: HitRef, max_side: int | None = None) -> npt.NDArray[np.uint8]:
    """The hit's frame with its box drawn (RGB)."""
    image, _scale, box = hit_frame(store, ref)
    return draw_box(image, box, max_side=max_side)


def hit_frame(store: Store, ref: HitRef) -> tuple[npt.NDArray[np.uint8], float, list[float]]:
    """The hit's frame (RGB), its pixels per displayed pixel, and the hit's box in its pixels.
    Uses the stored keyframe when the hit's frame is one; otherwise decodes that frame from the
    file; photos are read from the file."""
    record, files = store.contents.lookup(ref.content)
    box, time = _box_at(store, record.content_id, record.generation, ref)
    image: npt.NDArray[np.uint8] | None = None
    keyframe = (store.contents.keyframe(record.content_id, record.generation, ref.sample) if record.kind == "video"
                else None)
    if keyframe is not None:
        image, scale = decode_keyframe(keyframe["jpeg"]), float(keyframe["scale"])
    else:
        picture = _from_source(record, files, time)
        # boxes are stored in displayed pixels; a huge file is decoded reduced
        image, scale = picture.image, picture.scale
    return image, scale, [v * scale for v in box]


def _box_at(store: Store, content_id: str, generation: int, ref: HitRef) -> tuple[list[float], float | None]:
    if ref.track >= 0:
        track = store.contents.tracks(content_id, generation, [ref.track]).get(ref.track)
        if track is None or ref.sample not in track["samples"]:
            raise RefcliError(f"hit {ref} is not in the index any more: run `refcli find` again")
        k = track["samples"].index(ref.sample)
        return track["boxes"][4 * k:4 * k + 4], track["times"][k]
    raise RefcliError(f"hit {ref} belongs to no track: nothing to show")


def _from_source(record: MediaRecord, files: list[FileRecord], time: float | None) -> Picture:
    """The hit's frame decoded from a file that still holds the content it was found in."""
    from refcli.io.image import decode_picture
    from refcli.io.video import frame_at

    path, data = holding_file(record, files)
    try:
        return decode_picture(data) if data is not None else frame_at(path, time or 0.0)
    except MediaError as err:
        raise RefcliError(f"cannot read the hit's frame: {display_path(path)}: {err}") from None


def holding_file(record: MediaRecord, files: list[FileRecord]) -> tuple[str, bytes | None]:
    """The first of ``files`` (as `Store.contents.lookup` gives them) that still holds ``record``'s content,
    and a photo's bytes, read once for the check and the decoding: a box found in a file is never
    drawn on what replaced it."""
    from refcli.identity import still_holds
    from refcli.io.files import read_regular

    problems = []
    for known in files:
        path = known.path
        if not os.path.lexists(path):
            problems.append(f"{display_path(path)}: missing")
            continue
        try:
            data = read_regular(path) if record.kind == "image" else None
            if still_holds(path, record, known, data):
                return path, data
            problems.append(f"{display_path(path)}: changed since it was indexed (run `refcli index` on it, "
                            "then `refcli find` again)")
        except (MediaError, OSError) as err:
            problems.append(f"{display_path(path)}: {err}")
    raise RefcliError("cannot read the hit's frame: " + "; ".join(problems or ["no path"]))


def draw_box(image: npt.NDArray[np.uint8], box: list[float], max_side: int | None = None) -> npt.NDArray[np.uint8]:
    from PIL import Image, ImageDraw

    picture = Image.fromarray(image)
    scale = 1.0
    if max_side and max(picture.size) > max_side:
        scale = max_side / max(picture.size)
        picture = picture.resize((round(picture.width * scale), round(picture.height * scale)))
    width = max(2, round(max(picture.size) / 250))
    ImageDraw.Draw(picture).rectangle([v * scale for v in box], outline=BOX_COLOUR, width=width)
    return np.asarray(picture)


class Sheet:
    """A white PNG grid of pictures, ``columns`` a row, with two caption lines under each (the
    contact sheets of hits and of people)."""

    LABEL = 34

    def __init__(self, count: int, columns: int, cell: int) -> None:
        from PIL import Image, ImageDraw

        self.count, self.cell = count, cell
        self.columns = max(1, min(columns, count or 1))
        rows = max(1, -(-count // self.columns))
        self.image = Image.new("RGB", (self.columns * cell, rows * (cell + self.LABEL)), "white")
        self.draw = ImageDraw.Draw(self.image)

    def corner(self, i: int) -> tuple[int, int]:
        return (i % self.columns) * self.cell, (i // self.columns) * (self.cell + self.LABEL)

    def paste(self, i: int, picture: Any) -> None:
        """A PIL picture, shrunk to fit and centred in cell ``i``."""
        x, y = self.corner(i)
        picture.thumbnail((self.cell - 8, self.cell - 8))
        self.image.paste(picture, (x + (self.cell - picture.width) // 2, y + 4 + (self.cell - 8 - picture.height) // 2))

    def missing(self, i: int, text: str) -> None:
        x, y = self.corner(i)
        self.draw.rectangle([x + 4, y + 4, x + self.cell - 4, y + self.cell - 4], fill="lightgray")
        self.draw.text((x + 8, y + self.cell // 2), text, fill="dimgray")

    def caption(self, i: int, first: str, second: str) -> None:
        x, y = self.corner(i)
        self.draw.text((x + 6, y + self.cell + 2), first, fill="black")
        self.draw.text((x + 6, y + self.cell + 16), second, fill="dimgray")

    def save(self, path: str, empty: str) -> None:
        """Write the PNG; with no cells, ``empty`` says why."""
        if not self.count:
            self.draw.text((10, 10), empty, fill="black")
        with writing(path):
            self.image.save(path, format="PNG")


def save_png(image: npt.NDArray[np.uint8], path: str) -> None:
    from PIL import Image

    with writing(path):
        Image.fromarray(image).save(path, format="PNG")


@contextmanager
def writing(path: str) -> Iterator[None]:
    """Make the output file's folder; an OS failure while writing (a full disk, a folder where a
    file was meant) is the output path's error, not a traceback."""
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        yield
    except OSError as err:
        raise OutputPathError(f"cannot write {path}: {err.strerror or err}") from None


def make_output_folder(path: str) -> None:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as err:
        raise OutputPathError(f"cannot make folder {path}: {err.strerror or err}") from None
