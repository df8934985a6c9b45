"""What several command groups share: the database option, the check of the paths given, the
referrer settings of the options given."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from refcli.query.backends import ReferrerSettings

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
# No envvar here: the hf detector reads $REFCLI_DETECTOR_MODEL itself, so that setting it for hf
# runs is no error for a database indexed with a detector that takes no model.
DetectorModelOpt = Annotated[str | None, typer.Option(show_default=False,
                                                      help="Model folder or name for --detector hf "
                                                           "[default: $REFCLI_DETECTOR_MODEL].")]
FacesOpt = Annotated[bool | None, typer.Option("--faces/--no-faces", envvar="REFCLI_FACES", show_default=False,
                                               help="Store face embeddings, for named people (opt-in) "
                                                    "[default: as saved, else no].")]
PoseOpt = Annotated[bool | None, typer.Option("--pose/--no-pose", envvar="REFCLI_POSE", show_default=False,
                                              help="Store body poses, for sitting/kneeling/arms raised/facing "
                                                   "(opt-in, refcli[pose]) [default: as saved, else no].")]

ReuseStillOpt = Annotated[bool | None, typer.Option(
    "--reuse-still/--detect-every-sample", show_default=False,
    help="Video samples where nothing moved since the last detection (a fixed camera, a quiet "
         "scene) reuse its boxes instead of running the detector; detected at least every 4 s "
         "[default: as saved; a new database reuses, one saved before this option detects every "
         "sample].")]


def require_paths(paths: Iterable[Path]) -> None:
    """Refuse a missing path before any work starts (a typo must not look like an empty archive)."""
    from refcli.errors import RefcliError

    for path in paths:
        if not os.path.exists(path):
            raise RefcliError(f"no such file or folder: {path}")


def output_file(path: Path | None, option: str, example: str) -> None:
    """Refuse an output file that cannot be written, before any work: a folder, a path under a
    file, a folder without write permission (its missing folders are made when it is written)."""
    from refcli.errors import OutputPathError

    if path is None:
        return
    if path.is_dir():
        raise OutputPathError(f"{option} {path}: is a folder; give a file name, e.g. {path / example}")
    _writable(path.parent, path, option)
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputPathError(f"{option} {path}: no permission to write it")


def output_folder(path: Path | None, option: str) -> None:
    """Refuse an output folder that cannot be made or written into, before any work."""
    from refcli.errors import OutputPathError

    if path is None:
        return
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{option} {path}: is a file; give a folder (it is made if missing)")
    _writable(path, path, option)


def _writable(folder: Path, path: Path, option: str) -> None:
    """``folder`` (or the nearest of its parents that exists, where it would be made) is a folder
    refcli may write into."""
    from refcli.errors import OutputPathError

    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputPathError(f"{option} {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputPathError(f"{option} {path}: no permission to write in {existing}")


def stderr_progress(**kwargs: Any) -> Any:
    """A tqdm bar on stderr that switches itself off when stderr is not a terminal (cron)."""
    import sys

    from tqdm import tqdm

    return tqdm(file=sys.stderr, disable=None, dynamic_ncols=True, **kwargs)


def referrer_settings(ctx: typer.Context, *, backend: str, gallery: Mapping[str, Sequence[Sequence[float]]],
                      model: str | None = None, vlm_prompt: str | None = None, device: str | None = None,
                      grounder: str | None = None, grounder_model: str | None = None,
                      ignore_unsupported: bool = False) -> ReferrerSettings:
    """The referrer settings of a command's options. Those not typed on its command line (a
    default, an environment variable such as REFCLI_VLM_MODEL) are implicit: they go to the
    backends that take them, where a typed option the backend does not take is an error."""
    from refcli.query.backends import ReferrerSettings

    params = {"model": "model", "prompt": "vlm_prompt", "device": "device", "grounder": "grounder",
              "grounder_model": "grounder_model", "ignore_unsupported": "ignore_unsupported"}
    # by name: typer may bring its own copy of click, whose ParameterSource is another enum
    implicit = frozenset(name for name, param in params.items()
                         if getattr(ctx.get_parameter_source(param), "name", None) != "COMMANDLINE")
    return ReferrerSettings(backend=backend, model=model, prompt=vlm_prompt, ignore_unsupported=ignore_unsupported,
                            device=device, grounder=grounder or None, grounder_model=grounder_model, gallery=gallery,
                            implicit=implicit)
