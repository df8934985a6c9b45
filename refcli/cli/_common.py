"""What several command groups share: the database option, the check of the paths given."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer

DbOpt = Annotated[
    Path | None,
    typer.Option("--db", envvar="REFCLI_DB", help="Database folder [default: $XDG_DATA_HOME/refcli/db].",
                 show_default=False),
]


def require_paths(paths: Iterable[Path]) -> None:
    """Refuse a missing path before any work starts (a typo must not look like an empty archive)."""
    from refcli.errors import RefcliError

    for path in paths:
        if not os.path.exists(path):
            raise RefcliError(f"no such file or folder: {path}")
