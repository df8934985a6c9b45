"""`refcli models` (list, pull, path) and `refcli doctor`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from refcli.cli._common import DbOpt
from refcli.cli._safe import printable, say

app = typer.Typer(help="Model weights for model backends: list, pull (the only download), path.",
                  no_args_is_help=True, rich_markup_mode=None)


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Known models and whether they are installed."""
    from refcli.models import KNOWN, states

    models = states()
    if as_json:
        typer.echo(json.dumps(models, indent=2))
        return

    for name, m in models.items():
        state = f"installed, {m['bytes'] / 2**30:.1f} GiB" if m["installed"] else "not installed"
        typer.echo(f"{name:22} {m['kind']:17} {state:24} {m['repo']}  ({KNOWN[name].note})")


@app.command()
def pull(name: Annotated[str, typer.Argument(help="A name from `refcli models list`.")]) -> None:
    """Download a model (needs a network; huggingface_hub shows progress)."""
    from refcli.models import pull as do_pull

    typer.echo(do_pull(name))


@app.command()
def path(name: Annotated[str, typer.Argument(help="A model name or folder.")]) -> None:
    """Where a model is (or would be) installed."""
    import os

    from refcli.models import installed, models_dir

    typer.echo(installed(name) or os.path.join(models_dir(), name))


def doctor(as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
           db: DbOpt = None) -> None:
    """What is installed: versions, devices, models, what each backend still needs, and whether the
    database is healthy (exit 3 when it is not)."""
    from refcli.cli._errors import EXIT_STORE
    from refcli.doctor import database, report

    data = report()
    data["database"] = database(str(db) if db else None)
    damaged = bool(data["database"]["problems"])
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        if damaged:
            raise typer.Exit(EXIT_STORE)
        return
    typer.echo(f"refcli {data['refcli']} on Python {data['python']} ({data['platform']})")
    typer.echo("packages: " + ", ".join(f"{k} {v}" for k, v in data["packages"].items() if v)
               + "; not installed: " + (", ".join(k for k, v in data["packages"].items() if not v) or "none"))
    cuda = data["devices"].get("cuda") or []
    typer.echo(f"devices: cpu ({data['devices']['cpu']} cores)" + (f", cuda: {', '.join(cuda)}" if cuda else "")
               + (", mps" if data["devices"].get("mps") else ""))
    say(f"models folder: {printable(data['models_dir'])}")
    for backend, state in data["backends"].items():
        typer.echo(f"  {backend:22} {state}")
    base = data["database"]
    if not base["exists"]:
        say(f"database: {printable(base['path'])}: none yet (`refcli index` makes it)")
    elif base["error"] and not damaged:
        say(f"database: {printable(base['path'])}: {base['error']}")
    elif not damaged:
        say(f"database: {printable(base['path'])}: healthy (checked in {base['check_seconds']:.2f} s)")
    else:
        from refcli.errors import REPAIR_HINT

        say(f"database: {printable(base['path'])}: damaged")
        for problem in base["problems"]:
            say(f"  table '{problem['table']}' {problem['kind']} ({printable(problem['detail'])})")
        typer.echo(f"  {REPAIR_HINT}")
        raise typer.Exit(EXIT_STORE)
