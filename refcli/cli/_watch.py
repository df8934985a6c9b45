"""`refcli watch` (standing queries) and `refcli scan` (the nightly job)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from refcli.cli._common import (
    DbOpt,
    DetectorModelOpt,
    DetectorOpt,
    FacesOpt,
    FpsOpt,
    PoseOpt,
    ReuseStillOpt,
    require_paths,
)
from refcli.cli._safe import printable, say
from refcli.defaults import PEOPLE_MIN_SCORE

app = typer.Typer(help="Standing queries that `refcli scan` runs on everything it adds.", no_args_is_help=True,
                  rich_markup_mode=None)


@app.command()
def add(
    query: Annotated[str, typer.Argument(help='What to look for, e.g. "person in a red coat".')],
    backend: Annotated[str, typer.Option(help="Referrer backend.")] = "embedded",
    min_score: Annotated[float, typer.Option(min=0.0, max=1.0, help="Detector confidence for a person.")]
    = PEOPLE_MIN_SCORE,
    db: DbOpt = None,
) -> None:
    """Add a standing query. The next scan runs it over the whole archive once, then over what is new."""
    from refcli.errors import RefcliError
    from refcli.query import ReferrerSettings, build_referrer, require_query
    from refcli.store import Store

    require_query(query)
    store = Store.open(db, create=True)
    referrer = build_referrer(ReferrerSettings(backend, gallery=store.gallery.embeddings()))
    unsupported = referrer.unsupported(query)
    unsupported += tuple(f"{thing} (standing queries do not run an object grounder yet)"
                         for thing in referrer.object_phrases(query))
    if unsupported:
        raise RefcliError(f"the {backend} backend cannot judge {', '.join(repr(p) for p in unsupported)}: "
                          "this watch would never find anyone")
    with store.writer():
        added = store.watches.add(query.strip(), backend, min_score)
    shown = printable(repr(query.strip()))
    say(f"watching for {shown}" if added else f"already watching for {shown}")


@app.command("list")
def list_(db: DbOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The standing queries."""
    from refcli.store import Store

    watches = Store.open(db).watches.all()
    if as_json:
        typer.echo(json.dumps(watches, indent=2))
        return
    for w in watches:
        say(f"{printable(w['query'])}\t(backend {w['backend']}, min score {w['min_score']:.2f})")


@app.command()
def remove(query: Annotated[str, typer.Argument(help="The query, as listed.")], db: DbOpt = None) -> None:
    """Remove a standing query."""
    from refcli.errors import RefcliError
    from refcli.store import Store

    store = Store.open(db)
    with store.writer():
        removed = store.watches.remove(query.strip())
    if not removed:
        raise RefcliError(f"not watching for {query!r} (see `refcli watch list`)")
    say(f"stopped watching for {printable(repr(query.strip()))}")


def scan(
    paths: Annotated[list[Path], typer.Argument(help="Folders and files to scan.", show_default=False)],
    db: DbOpt = None,
    fps: FpsOpt = None,
    settle: Annotated[float, typer.Option(min=0, help="Leave files modified in the last SECONDS for the next run.",
                                          metavar="SECONDS")] = 60,
    wait: Annotated[float, typer.Option(help="Wait up to SECONDS for another writer (-1: forever).",
                                        metavar="SECONDS")] = 600,
    faces: FacesOpt = None,
    pose: PoseOpt = None,
    reuse_still: ReuseStillOpt = None,
    detector: DetectorOpt = None,
    detector_model: DetectorModelOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
) -> None:
    """Index new and changed media, then report hits of the standing queries that are new.

    Exit status, most important first: errors (1, 3, 4, 75), 11 when some files could not be
    read, 10 when there are new hits, 0 when there is nothing new.
    """

    from refcli import faults
    from refcli.cli._common import stderr_progress
    from refcli.cli._errors import EXIT_FILES_FAILED, EXIT_NEW_HITS
    from refcli.index import IndexOptions
    from refcli.scan import run_scan
    from refcli.store import Store

    require_paths(paths)
    store = Store.open(db, create=True)
    with store.writer(wait=wait):
        options = IndexOptions.resolved(store, fps=fps, detector=detector, detector_model=detector_model, faces=faces,
                                        pose=pose, reuse_still=reuse_still, settle_seconds=settle)
        report = run_scan([str(p) for p in paths], store, options, progress=None if as_json else stderr_progress)
        if as_json:
            typer.echo(json.dumps(report.to_dict(), indent=2))
        else:
            from refcli.cli._output import print_scan

            print_scan(report)
        sys.stdout.flush()  # delivered, then confirmed: a scan killed in between reports again next time
        faults.point("after-report")
        report.confirm(store)
    if report.index.failed:
        raise typer.Exit(EXIT_FILES_FAILED)
    if report.new_hits:
        raise typer.Exit(EXIT_NEW_HITS)
