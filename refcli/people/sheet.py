"""A contact sheet of the archive's people: each one's largest face, with id, name and counts."""

from __future__ import annotations

from collections.abc import Sequence

from refcli.errors import RefcliError
from refcli.people.archive import PersonSummary
from refcli.render import HitRef, hit_frame, writing
from refcli.store import Store

CELL = 160


def people_sheet(store: Store, people: Sequence[PersonSummary], path: str, columns: int = 6) -> int:
    """One PNG grid, a face per person (a face whose file is gone or changed is left grey)."""
    from PIL import Image, ImageDraw

    columns = max(1, min(columns, len(people) or 1))
    rows = max(1, -(-len(people) // columns))
    label = 34
    sheet = Image.new("RGB", (columns * CELL, rows * (CELL + label)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, person in enumerate(people):
        x, y = (i % columns) * CELL, (i // columns) * (CELL + label)
        key = person.example
        try:
            image, scale, _ = hit_frame(store, HitRef(key.content_id[:16], key.track, key.sample))
            x1, y1, x2, y2 = (v * scale for v in person.example_box)
            pad = 0.3 * max(x2 - x1, y2 - y1)
            face = Image.fromarray(image).crop((int(x1 - pad), int(y1 - pad), int(x2 + pad), int(y2 + pad)))
            face.thumbnail((CELL - 8, CELL - 8))
            sheet.paste(face, (x + (CELL - face.width) // 2, y + 4 + (CELL - 8 - face.height) // 2))
        except RefcliError:
            draw.rectangle([x + 4, y + 4, x + CELL - 4, y + CELL - 4], fill="lightgray")
        draw.text((x + 6, y + CELL + 2), f"{person.id} {(person.name or '')[:20]}", fill="black")
        draw.text((x + 6, y + CELL + 16), f"{person.faces} faces, {len(person.files)} files", fill="dimgray")
    if not people:
        draw.text((10, 10), "nobody seen twice yet", fill="black")
    with writing(path):
        sheet.save(path, format="PNG")
    return len(people)
