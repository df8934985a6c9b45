"""`refcli people`: the archive's people, grouped from the faces indexed with `--faces`; name
them once and `find` recognises them everywhere, in files already indexed and in later scans."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from refcli.cli._common import DbOpt, output_file
from refcli.cli._safe import printable, say

app = typer.Typer(help="The people in the archive: faces grouped by who they are (opt-in: index with --faces).",
                  invoke_without_command=True, rich_markup_mode=None)

PersonArg = Annotated[int, typer.Argument(metavar="ID", help="A person's id, as `refcli people` lists it.",
                                          show_default=False)]


@app.callback()
def people(
    ctx: typer.Context,
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the people as JSON.")] = False,
    sheet: Annotated[Path | None, typer.Option("--sheet", help="Write a PNG contact sheet of their faces.",
                                               show_default=False)] = None,
    min_faces: Annotated[int, typer.Option(min=1, help="List people with at least this many faces.")] = 2,
) -> None:
    """Group the faces not grouped yet, then list everyone seen at least twice: id, name, faces,
    files, appearances, first and last seen (the files' dates)."""
    if ctx.invoked_subcommand is not None:
        ctx.ensure_object(dict)["db"] = db
        return
    from refcli.errors import WriterBusyError
    from refcli.people.archive import summaries, update
    from refcli.store import Store

    output_file(sheet, "--sheet", "people.png")
    store = Store.open(db)
    _require_faces(store)
    merged: list[tuple[int, int]] = []
    created: list[int] = []
    try:
        with store.writer():
            result = update(store)
            merged, created = result.merged, result.created
    except WriterBusyError:
        say("note: another refcli is writing: faces indexed since the last grouping are not grouped yet", err=True)
    listed = summaries(store, min_faces)
    for gone, keep in merged:
        say(f"merged: person {gone} is person {keep}", err=True)
    if sheet is not None:
        from refcli.people.sheet import people_sheet

        people_sheet(store, listed, str(sheet))
        say(f"contact sheet: {printable(sheet)}", err=True)
    if as_json:
        typer.echo(json.dumps({"people": [_as_dict(p) for p in listed], "new": created,
                               "merged": [{"from": g, "into": k} for g, k in merged]}, indent=2))
        return
    if not listed:
        say("nobody seen twice yet: more photos and videos indexed with --faces will show the people", err=True)
    for p in listed:
        name = printable(p.name) if p.name else "(no name)"
        say(f"{p.id}\t{name}\t{p.faces} faces\t{len(p.files)} files\t{p.appearances} appearances\t"
            f"{_date(p.first_seen)} .. {_date(p.last_seen)}\t{printable(p.files[0]) if p.files else ''}")


@app.command()
def name(ctx: typer.Context, person: PersonArg,
         new_name: Annotated[str, typer.Argument(metavar="NAME", help="Their name, as you will type it in queries.")],
         db: DbOpt = None) -> None:
    """Name a person: `find "NAME"` then answers with them in every file, without re-indexing."""
    from refcli.errors import RefcliError

    clean = new_name.strip()
    if not clean:
        raise RefcliError("a name cannot be empty")
    with _writing(ctx, db) as store:
        _require_person(store, person)
        taken = [pid for pid, n in store.people.names().items() if n and n.lower() == clean.lower() and pid != person]
        if taken:
            raise RefcliError(f"{clean!r} already names person {taken[0]}: merge them with "
                              f"`refcli people merge {taken[0]} {person}`")
        store.people.rename(person, clean)
    say(f"person {person} is {printable(clean)}: `refcli find {json.dumps(clean)}` finds them")


@app.command()
def merge(ctx: typer.Context, into: PersonArg,
          others: Annotated[list[int], typer.Argument(metavar="ID...", help="People who are the same person.",
                                                      show_default=False)],
          db: DbOpt = None) -> None:
    """Merge people who are one person (the grouping kept them apart) into the first id."""
    from refcli.errors import RefcliError

    with _writing(ctx, db) as store:
        names = store.people.names()
        for pid in [into, *others]:
            _require_person(store, pid)
        named = {names[p] for p in [into, *others] if names.get(p)}
        if len(named) > 1:
            raise RefcliError(f"they have different names ({', '.join(sorted(map(repr, named)))}): "
                              "rename one first, or they are not one person")
        store.people.record({}, [], [(pid, into) for pid in others if pid != into])
    say(f"merged {', '.join(map(str, others))} into person {into}")


@app.command()
def forget(ctx: typer.Context, person: PersonArg,
           yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
           db: DbOpt = None) -> None:
    """Delete a person: their name, their grouping and every embedding of their faces."""
    if not yes:
        typer.confirm(f"Delete person {person} and every embedding of their faces?", abort=True)
    with _writing(ctx, db) as store:
        _require_person(store, person)
        faces = store.people.forget(person)
    say(f"forgot person {person}: {faces} face embeddings deleted (their faces are measured again only where a "
        "file of theirs changes and is indexed with --faces)")


@contextmanager
def _writing(ctx: typer.Context, db: Path | None) -> Iterator[Any]:
    """The database of `refcli people ... --db` (or `refcli people --db ...`), held for writing."""
    from refcli.store import Store

    store = Store.open(db or (ctx.obj or {}).get("db"))
    with store.writer():
        yield store


def _require_faces(store: Any) -> None:
    from refcli.errors import RefcliError
    from refcli.features.faces import faces_indexed

    if not faces_indexed(store):
        raise RefcliError("no faces are indexed: people are grouped from faces, which are opt-in "
                          "(`refcli index --faces PATH`)")


def _require_person(store: Any, person: int) -> None:
    from refcli.errors import RefcliError

    if person not in store.people.names():
        raise RefcliError(f"there is no person {person} (see `refcli people`)")


def _as_dict(p: Any) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "faces": p.faces, "files": p.files, "appearances": p.appearances,
            "first_seen": p.first_seen, "last_seen": p.last_seen,
            "example": {"content": p.example.content_id[:16], "track": p.example.track, "sample": p.example.sample,
                        "box": p.example_box}}


def _date(seconds: float | None) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(seconds)) if seconds is not None else "?"
