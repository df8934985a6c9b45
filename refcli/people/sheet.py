"""A contact sheet of the archive's people: each one's largest face, with id, name and counts."""

from __future__ import annotations

from collections.abc import Sequence

from refcli.errors import RefcliError
from refcli.people.archive import PersonSummary
from refcli.render import HitRef, Sheet, hit_frame
from refcli.store import Store

CELL = 160


def people_sheet(store: Store, people: Sequence[PersonSummary], path: str, columns: int = 6) -> int:
    """One PNG grid, a face per person (a face whose file is gone or changed is left grey)."""
    from PIL import Image

    sheet = Sheet(len(people), columns, CELL)
    for i, person in enumerate(people):
        key = person.example
        try:
            image, scale, _ = hit_frame(store, HitRef(key.content_id[:16], key.track, key.sample))
            x1, y1, x2, y2 = (v * scale for v in person.example_box)
            pad = 0.3 * max(x2 - x1, y2 - y1)
            sheet.paste(i, Image.fromarray(image).crop((int(x1 - pad), int(y1 - pad), int(x2 + pad), int(y2 + pad))))
        except RefcliError:
            sheet.missing(i, "file gone or changed")
        sheet.caption(i, f"{person.id} {(person.name or '')[:20]}", f"{person.faces} faces, {len(person.files)} files")
    sheet.save(path, "nobody seen twice yet")
    return len(people)
