"""`refcli faces`: the user's own gallery of named people (opt-in face recognition)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from refcli.cli._common import DbOpt
from refcli.cli._safe import printable, say

app = typer.Typer(help="Named people: a face gallery for queries like \"Ada Lovelace\" (opt-in).",
                  no_args_is_help=True, rich_markup_mode=None)



@app.command()
def add(
    name: Annotated[str, typer.Argument(help="The person's name, as you will type it in queries.")],
    photos: Annotated[list[Path], typer.Argument(help="Photos of them (the largest face in each is used).",
                                                 show_default=False)],
    db: DbOpt = None,
) -> None:
    """Enrol a person from one or more photos. Needs `pip install 'refcli[faces]'`."""
    from refcli.errors import MediaError, RefcliError
    from refcli.features.faces import FaceEncoder
    from refcli.io.image import load_image
    from refcli.store import GalleryRow, Store

    encoder = FaceEncoder()
    rows: list[GalleryRow] = []
    for photo in photos:
        try:
            faces = encoder.faces(load_image(str(photo)))
        except MediaError as err:
            say(f"skipped: {printable(photo)}: {err}", err=True)
            continue
        if not faces:
            say(f"skipped: {printable(photo)}: no face found", err=True)
            continue
        if len(faces) > 1:
            say(f"note: {printable(photo)}: {len(faces)} faces, using the largest", err=True)
        rows.append({"name": name.strip(), "embedding": faces[0].embedding.tolist(), "source": str(photo.resolve()),
                     "added_at": time.time()})
    if not rows:
        raise RefcliError(f"no face found in the photos given for {name!r}: nothing added")
    store = Store.open(db, create=True)
    with store.writer():
        store.gallery.add(rows)
    say(f"added {len(rows)} photo{'s' * (len(rows) != 1)} of {printable(name.strip())}; index with --faces so "
               "that find can recognise them")


@app.command("list")
def list_(db: DbOpt = None) -> None:
    """Who is in the gallery, with how many photos."""
    from refcli.store import Store

    counts: dict[str, int] = {}
    for row in Store.open(db).gallery.entries():
        counts[row["name"]] = counts.get(row["name"], 0) + 1
    for person, n in sorted(counts.items()):
        say(f"{printable(person)}\t{n} photo{'s' * (n != 1)}")
    if not counts:
        say("the gallery is empty: add people with `refcli faces add NAME PHOTO...`", err=True)


@app.command()
def remove(name: Annotated[str, typer.Argument(help="A name in the gallery.")], db: DbOpt = None) -> None:
    """Remove a person from the gallery."""
    from refcli.errors import RefcliError
    from refcli.store import Store

    store = Store.open(db)
    with store.writer():
        removed = store.gallery.remove(name.strip())
    if not removed:
        raise RefcliError(f"{name!r} is not in the gallery (see `refcli faces list`)")
    say(f"removed {printable(name.strip())} ({removed} photo{'s' * (removed != 1)})")


@app.command()
def forget(db: DbOpt = None,
           yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False) -> None:
    """Delete every stored face embedding: the gallery and the faces found while indexing."""
    from refcli.store import Store

    if not yes:
        typer.confirm("Delete the gallery and every face embedding in the index?", abort=True)
    store = Store.open(db)
    with store.writer():
        gallery, faces = store.gallery.forget_faces()
    say(f"deleted {gallery} gallery photos and {faces} indexed faces; index again without --faces to keep "
               "it that way")
