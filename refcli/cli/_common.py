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


# Index settings (refcli.config): None where not given, so that the database's saved settings apply.
FpsOpt = Annotated[float | None, typer.Option(min=0.01, max=240, show_default=False,
                                              help="Video frames sampled per second [default: as saved, else 2].")]
DetectorOpt = Annotated[str | None, typer.Option(show_default=False, help="Person detector: ssdlite (embedded) "
                                                 "or hf (a transformers model) [default: as saved, else ssdlite].")]
DetectorModelOpt = Annotated[str | None, typer.Option(envvar="REFCLI_DETECTOR_MODEL", show_default=False,
                                                      help="Model folder or name for --detector hf.")]
FacesOpt = Annotated[bool | None, typer.Option("--faces/--no-faces", envvar="REFCLI_FACES", show_default=False,
                                               help="Store face embeddings, for named people (opt-in) "
                                                    "[default: as saved, else no].")]
PoseOpt = Annotated[bool | None, typer.Option("--pose/--no-pose", envvar="REFCLI_POSE", show_default=False,
                                              help="Store body poses, for sitting/kneeling/arms raised/facing "
                                                   "(opt-in, refcli[pose]) [default: as saved, else no].")]


def require_paths(paths: Iterable[Path]) -> None:
    """Refuse a missing path before any work starts (a typo must not look like an empty archive)."""
    from refcli.errors import RefcliError

    for path in paths:
        if not os.path.exists(path):
            raise RefcliError(f"no such file or folder: {path}")
