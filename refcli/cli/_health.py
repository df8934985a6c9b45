"""Database health on the command line: `refcli status` reports problems, `refcli repair` fixes them."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from refcli.cli._common import DbOpt
from refcli.cli._safe import printable, say
from refcli.errors import REPAIR_HINT


def status_report(store: Any) -> tuple[dict[str, Any], Any]:
    """`refcli status`'s report with its "problems"; the counts are left out where the files or
    media table cannot be read (the problems say which)."""
    from refcli.errors import DatabaseDamagedError
    from refcli.store import schema

    health = store.check()
    try:
        report = store.status()
    except DatabaseDamagedError:
        report = {"db": store.path, "schema_version": schema.SCHEMA_VERSION}
    report["problems"] = health.to_dicts()
    return report, health


def print_problems(health: Any) -> None:
    if health.ok:
        return
    for problem in health.problems:
        say(f"damaged: {problem}", err=True)
    say(f"database {printable(health.db)} is damaged: {REPAIR_HINT}", err=True)


def repair(
    db: DbOpt = None,
    no_reindex: Annotated[bool, typer.Option("--no-reindex", help="Leave files that lost rows to the next "
                                                                   "`refcli index` (it decodes them again).")] = False,
    wait: Annotated[float, typer.Option(help="Wait up to SECONDS for another writer (-1: forever).",
                                        metavar="SECONDS")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
) -> None:
    """Salvage what a damaged database can still read, and index again the files that lost rows.

    Unreadable files are moved into DB/damaged/TIME/, never deleted. Exit 0 when the database is
    healthy afterwards, 3 when it is not.
    """
    from refcli.cli._common import stderr_progress
    from refcli.errors import DatabaseDamagedError
    from refcli.store import Store
    from refcli.store.repair import repair as run_repair

    store = Store.connect(db)
    with store.writer(wait=wait):
        report = run_repair(store, reindex=not no_reindex, progress=None if as_json else stderr_progress)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_repair(report)
    if not report.healthy:
        raise DatabaseDamagedError(f"database {report.db} is still damaged after repair (see `refcli status`): "
                                   "restore the folder from a backup")


def _print_repair(report: Any) -> None:
    if report.nothing_to_do:
        say(f"nothing to repair: database {printable(report.db)} is healthy")
        return
    for done in report.tables:
        lost = "an unknown number" if done.rows_lost is None else str(done.rows_lost)
        say(f"table '{done.table}': {done.action} ({done.cause}): {done.rows_kept} rows kept, {lost} lost")
    if report.contents_dropped:
        say(f"{report.contents_dropped} indexed file(s) had lost rows")
    if report.reindexed:
        summary = report.index
        say(f"indexed again: {len(report.reindexed)} file(s)"
                   + (f", {summary.failed} failed" if summary is not None and summary.failed else ""))
    for path in report.vanished:
        say(f"not indexed again (no longer on disk): {printable(path)}")
    for what in report.lost:
        say(f"cannot come back: {what}")
    if report.moved_to:
        say(f"damaged files moved to {printable(report.moved_to)} (delete it once you are content)")
    say(f"database {printable(report.db)} is {'healthy' if report.healthy else 'still damaged'}")
