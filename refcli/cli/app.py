"""refcli's commands. Heavy libraries are imported inside commands so `--help` starts fast."""

from __future__ import annotations

import enum
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from refcli import __version__
from refcli.cli._common import (
    DbOpt,
    DetectorModelOpt,
    DetectorOpt,
    FacesOpt,
    FpsOpt,
    PoseOpt,
    ReuseStillOpt,
    output_file,
    output_folder,
    referrer_settings,
    require_paths,
)
from refcli.cli._errors import EXIT_INTERRUPTED, EXIT_STORE, exit_code
from refcli.cli._eval import app as eval_app
from refcli.cli._faces import app as faces_app
from refcli.cli._health import repair as repair_command
from refcli.cli._models import app as models_app
from refcli.cli._models import doctor as doctor_command
from refcli.cli._people import app as people_app
from refcli.cli._safe import printable, say
from refcli.cli._watch import app as watch_app
from refcli.cli._watch import scan as scan_command
from refcli.defaults import PEOPLE_MIN_SCORE
from refcli.errors import RefcliError

if TYPE_CHECKING:
    from refcli.executors import RayOptions
    from refcli.query import FindResult, ReferrerSettings
    from refcli.store import Store


class Decoder(enum.StrEnum):
    auto = "auto"
    decord = "decord"
    pyav = "pyav"


class _Group(TyperGroup):
    """Catches refcli's errors once for every command: one line on stderr, a meaningful exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except RefcliError as err:
            if os.environ.get("REFCLI_DEBUG"):
                raise
            say(f"refcli: error: {err}", err=True)
            raise typer.Exit(exit_code(err)) from None
        except KeyboardInterrupt:
            say("refcli: interrupted; finished files are saved, run the same command again to continue", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None


app = typer.Typer(
    cls=_Group,
    name="refcli",
    help="Find people in photo and video archives by description.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]
ModelOpt = Annotated[str | None, typer.Option("--model", envvar="REFCLI_VLM_MODEL",
                                              help="Model folder or name, for model backends (vlm, rexseek).",
                                              show_default=False)]
PromptOpt = Annotated[str, typer.Option("--vlm-prompt", help="How the vlm backend is shown the candidates: "
                                        "rex-thinker (boxes as text) or marks (numbered boxes drawn).")]
DeviceOpt = Annotated[str, typer.Option("--device", help="Where models run: auto, cpu, cuda, cuda:N, mps.")]
RayOpt = Annotated[bool, typer.Option("--ray", help="Run on Ray: a local instance, or the cluster of --ray-address.")]
RayAddressOpt = Annotated[str | None, typer.Option("--ray-address", envvar="RAY_ADDRESS",
                                                   help="Ray cluster to join (implies --ray).", show_default=False)]
ActorsOpt = Annotated[str, typer.Option(help="Model actors on Ray: N, or MIN-MAX to grow while work waits.")]
GrounderOpt = Annotated[str | None, typer.Option("--grounder", envvar="REFCLI_GROUNDER",
                                                 help="Object grounder for queries about things (holding a "
                                                      "microphone): owlv2, grounding-dino, florence-2; default: "
                                                      "coco, the COCO-80 detector inside refcli; none: no grounder.",
                                                 show_default=False)]
GrounderModelOpt = Annotated[str | None, typer.Option("--grounder-model", envvar="REFCLI_GROUNDER_MODEL",
                                                      help="Model folder or name for --grounder.",
                                                      show_default=False)]
IgnoreUnsupportedOpt = Annotated[bool, typer.Option(
    "--ignore-unsupported", help="Answer with the parts of the query the backend understood.")]
GpusPerActorOpt = Annotated[float, typer.Option(min=0, max=64, help="GPUs per model actor on Ray "
                                                                    "(0.5 packs two on a GPU).")]


def _ray_options(use_ray: bool, address: str | None, actors: str, gpus_per_actor: float) -> RayOptions | None:
    """RayOptions when the command runs on Ray, else None (Ray is never started for local work)."""
    if not (use_ray or address):
        return None
    from refcli.executors import RayOptions

    try:
        low, high = RayOptions.parse_actors(actors)
    except ValueError as err:
        raise RefcliError(str(err)) from None
    return RayOptions(address=address, min_actors=low, max_actors=high, gpus_per_actor=gpus_per_actor)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"refcli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Find people in photo and video archives by description."""


@app.command()
def index(
    paths: Annotated[list[Path], typer.Argument(help="Folders and files to index (recursively).",
                                                 show_default=False)],
    db: DbOpt = None,
    fps: FpsOpt = None,
    as_json: JsonOpt = False,
    decoder: Annotated[Decoder, typer.Option(help="Video decoder: auto is PyAV; decord on request.")]
    = Decoder.auto,
    batch_size: Annotated[int, typer.Option(min=1, max=256, help="Frames per detector call.")] = 8,
    threads: Annotated[int | None, typer.Option(min=1, help="Detector threads [default: cores - 1].",
                                                show_default=False)] = None,
    hidden: Annotated[bool, typer.Option("--hidden", help="Also index hidden files and folders.")] = False,
    faces: FacesOpt = None,
    pose: PoseOpt = None,
    reuse_still: ReuseStillOpt = None,
    settle: Annotated[float, typer.Option(min=0, help="Leave files modified in the last SECONDS for the next run.",
                                          metavar="SECONDS")] = 0,
    wait: Annotated[float, typer.Option(help="Wait up to SECONDS for another index to finish (-1: forever).",
                                        metavar="SECONDS")] = 0,
    detector: DetectorOpt = None,
    detector_model: DetectorModelOpt = None,
    device: DeviceOpt = "auto",
    use_ray: RayOpt = False,
    ray_address: RayAddressOpt = None,
    actors: ActorsOpt = "1",
    gpus_per_actor: GpusPerActorOpt = 0.0,
) -> None:
    """Detect every person in the photos and videos under PATHS and store them.

    Unchanged files are skipped; changed files are re-indexed. Files that cannot be read are
    reported, recorded and skipped until they change: the run goes on and exits 0. The settings
    that decide what is stored (--fps, --detector, --faces, --pose, --reuse-still) are saved in the database:
    later runs and scans keep them unless told otherwise.
    """
    from refcli.cli._common import stderr_progress
    from refcli.index import IndexOptions, run_index
    from refcli.store import Store

    require_paths(paths)
    ray_options = _ray_options(use_ray, ray_address, actors, gpus_per_actor)
    store = Store.open(db, create=True)
    with store.writer(wait=wait):
        options = IndexOptions.resolved(store, fps=fps, detector=detector, detector_model=detector_model, faces=faces,
                                        pose=pose, reuse_still=reuse_still, decoder=decoder.value,
                                        batch_size=batch_size, include_hidden=hidden, ray=ray_options,
                                        detector_threads=threads, settle_seconds=settle, device=device)
        summary = run_index([str(p) for p in paths], store, options,
                            progress=None if as_json else stderr_progress)
    for problem in summary.failures:
        say(f"failed: {printable(problem.path)}: {problem.reason}", err=True)
    for problem in summary.warnings:
        say(f"warning: {printable(problem.path)}: {problem.reason}", err=True)
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
        return
    from refcli.cli._output import describe_index

    say(describe_index(summary))


@app.command()
def find(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help='What to look for, e.g. "the person on the left" (optional with '
                                              '--like).', show_default=False)] = "",
    db: DbOpt = None,
    like: Annotated[str | None, typer.Option("--like", metavar="HIT",
                                             help="Every appearance of the person a hit shows (by their face; "
                                                  "index with --faces). With QUERY: those who also match it.",
                                             show_default=False)] = None,
    limit: Annotated[int, typer.Option(min=0, help="Show at most this many hits (0: all).")] = 20,
    min_score: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Detector confidence needed to count as a person.")] = PEOPLE_MIN_SCORE,
    backend: Annotated[str, typer.Option(help="Referrer backend.")] = "embedded",
    thumbnails: Annotated[Path | None, typer.Option(help="Write a PNG per hit (frame with box) into this folder.",
                                                    show_default=False)] = None,
    ignore_unsupported: IgnoreUnsupportedOpt = False,
    html_path: Annotated[Path | None, typer.Option("--html", help="Write a self-contained HTML report of the hits.",
                                                   show_default=False)] = None,
    contact_sheet_path: Annotated[Path | None, typer.Option("--contact-sheet",
                                                            help="Write one PNG grid of the hits.",
                                                            show_default=False)] = None,
    model: ModelOpt = None,
    vlm_prompt: PromptOpt = "rex-thinker",
    device: DeviceOpt = "auto",
    grounder: GrounderOpt = None,
    grounder_model: GrounderModelOpt = None,
    use_ray: RayOpt = False,
    ray_address: RayAddressOpt = None,
    actors: ActorsOpt = "1",
    gpus_per_actor: GpusPerActorOpt = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Find every indexed person who matches QUERY, or nobody.

    A hit is a stretch of time in which one tracked person matches: start-end for videos,
    no time for photos. `refcli show HIT` draws one.
    """
    output_folder(thumbnails, "--thumbnails")  # before the query, which may take long
    output_file(html_path, "--html", "report.html")
    output_file(contact_sheet_path, "--contact-sheet", "sheet.png")
    from refcli.people.like import hit_ids, like_gallery, like_query
    from refcli.store import Store

    if like is not None:
        query = like_query(query, like.strip().lower())
    store = Store.open(db)
    gallery = {**store.gallery.embeddings(), **like_gallery(store, hit_ids(query))}
    settings = referrer_settings(ctx, backend=backend, gallery=gallery, model=model,
                                 vlm_prompt=vlm_prompt, device=device, grounder=grounder, grounder_model=grounder_model,
                                 ignore_unsupported=ignore_unsupported)
    result = _run_query(store, query, settings, min_score=min_score, limit=limit,
                        ray_options=_ray_options(use_ray, ray_address, actors, gpus_per_actor))
    for warning in result.warnings:
        say(f"warning: {warning}", err=True)
    if thumbnails is not None:
        _write_thumbnails(store, result.hits, thumbnails)
    if html_path is not None:
        from refcli.report import write_html

        write_html(store, result, str(html_path))
        say(f"report: {printable(html_path)}", err=True)
    if contact_sheet_path is not None:
        from refcli.report import contact_sheet

        contact_sheet(store, result.hits, str(contact_sheet_path))
        say(f"contact sheet: {printable(contact_sheet_path)}", err=True)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    from refcli.cli._output import print_find

    print_find(result)


@app.command()
def export(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help='What to look for, e.g. "the person on the left".',
                                         show_default=False)],
    clips: Annotated[Path, typer.Option("--clips", help="Folder for the clips (MP4) and photos (PNG).",
                                        show_default=False)],
    boxes: Annotated[bool, typer.Option("--boxes", help="Burn the person's box into the clips.")] = False,
    margin: Annotated[float, typer.Option(min=0, help="Seconds added before and after each hit.")] = 1.0,
    db: DbOpt = None,
    limit: Annotated[int, typer.Option(min=0, help="Export at most this many hits (0: all).")] = 20,
    min_score: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Detector confidence needed to count as a person.")] = PEOPLE_MIN_SCORE,
    backend: Annotated[str, typer.Option(help="Referrer backend.")] = "embedded",
    ignore_unsupported: IgnoreUnsupportedOpt = False,
    model: ModelOpt = None,
    vlm_prompt: PromptOpt = "rex-thinker",
    device: DeviceOpt = "auto",
    grounder: GrounderOpt = None,
    grounder_model: GrounderModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cut every video hit into a playable H.264 clip; photos are copied with the box drawn."""
    output_folder(clips, "--clips")
    from refcli.export import export_hits
    from refcli.store import Store

    store = Store.open(db)
    settings = referrer_settings(ctx, backend=backend, gallery=store.gallery.embeddings(), model=model,
                                 vlm_prompt=vlm_prompt, device=device, grounder=grounder, grounder_model=grounder_model,
                                 ignore_unsupported=ignore_unsupported)
    result = _run_query(store, query, settings, min_score=min_score, limit=limit)
    for warning in result.warnings:
        say(f"warning: {warning}", err=True)
    exported = export_hits(store, result.hits, str(clips), boxes=boxes, margin=margin)
    if as_json:
        typer.echo(json.dumps({"query": query, "total": result.total, "unsupported": result.unsupported,
                               "files": [{"hit": e.hit.id, "path": e.path, "seconds": e.seconds, "error": e.error}
                                         for e in exported]}, indent=2))
        return
    for item in exported:
        if item.error:
            say(f"skipped: hit {item.hit.id}: {item.error}", err=True)
        else:
            say(printable(item.path))
    if result.unsupported:
        say(f"nothing to export: cannot judge {', '.join(printable(p) for p in result.unsupported)}", err=True)


@app.command()
def show(
    hit: Annotated[str, typer.Argument(help="A hit id from `refcli find` (CONTENT:TRACK:SAMPLE).",
                                       show_default=False)],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="PNG to write [default: ./refcli-HIT.png].",
                                             show_default=False)] = None,
    db: DbOpt = None,
) -> None:
    """Write the frame of a hit, with the person's box drawn, to a PNG."""
    from refcli.render import HitRef, hit_picture, save_png
    from refcli.store import Store

    ref = HitRef.parse(hit)
    default = f"refcli-{str(ref).replace(':', '-')}.png"
    target = out or Path(default)
    output_file(target, "--out", default)
    save_png(hit_picture(Store.open(db), ref), str(target))
    say(printable(target))


@app.command()
def errors(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Files that could not be indexed, and why."""
    from refcli.store import Store

    failures = Store.open(db).contents.failures()
    if as_json:
        typer.echo(json.dumps(failures, indent=2))
        return
    for failure in failures:
        say(f"{printable(failure['path'])}: {failure['error']}")
    if not failures:
        say("no failed files", err=True)


@app.command()
def prune(
    db: DbOpt = None,
    older_than: Annotated[float, typer.Option(min=0, help="Only files gone for at least DAYS.", metavar="DAYS")] = 0,
) -> None:
    """Forget files marked gone (no longer on disk) and the index rows only they used."""
    from refcli.store import Store

    store = Store.open(db)
    with store.writer():
        removed = store.contents.prune(older_than)
    say(f"forgot {removed} gone file{'s' * (removed != 1)}")


@app.command()
def optimize(db: DbOpt = None) -> None:
    """Compact the database and (re)build its indexes. `index` and `scan` do it when worth it."""
    from refcli.store import Store

    store = Store.open(db)
    with store.writer():
        store.optimize(force=True)
    say(f"optimized {printable(store.path)}")


def _run_query(store: Store, query: str, settings: ReferrerSettings, *, min_score: float, limit: int,
               ray_options: RayOptions | None = None) -> FindResult:
    """`find` with the referrer and grounder of ``settings``; its batches run on Ray actors when
    ``ray_options`` are given. ``limit`` 0 keeps every hit."""
    from refcli.query import build_grounder, build_referrer, find

    grounder = build_grounder(settings)
    if ray_options is not None:
        from refcli.executors.ray_cluster import RayReferrer

        with RayReferrer(settings, ray_options) as remote:
            return find(store, query, remote, min_score=min_score, limit=limit or None, grounder=grounder)
    return find(store, query, build_referrer(settings), min_score=min_score, limit=limit or None, grounder=grounder)


def _write_thumbnails(store: Any, hits: list[Any], folder: Path) -> None:
    from refcli.errors import OutputPathError, RefcliError, StoreError
    from refcli.render import HitRef, hit_picture, save_png

    for rank, hit in enumerate(hits, 1):
        stem = Path(hit.path).stem[:40]
        target = folder / f"{rank:03d}-{stem}-{hit.id.replace(':', '-')}.png"
        try:
            save_png(hit_picture(store, HitRef.parse(hit.id), max_side=640), str(target))
        except (StoreError, OutputPathError):
            raise  # the database or the folder: every other hit would fail alike
        except RefcliError as err:  # one unreadable hit must not cost the others
            say(f"warning: no thumbnail for hit {hit.id}: {err}", err=True)


@app.command()
def status(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """What the database holds, which files failed, and whether every table reads (exit 3 if not)."""
    from refcli.cli._health import print_problems, status_report
    from refcli.store import Store

    report, health = status_report(Store.open(db))
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        from refcli.cli._output import print_status

        if "files" in report:
            print_status(report)
        print_problems(health)
    if not health.ok:
        raise typer.Exit(EXIT_STORE)


app.add_typer(eval_app, name="eval")
app.add_typer(faces_app, name="faces")
app.add_typer(people_app, name="people")
app.add_typer(watch_app, name="watch")
app.command("scan")(scan_command)
app.add_typer(models_app, name="models")
app.command("doctor")(doctor_command)
app.command("repair")(repair_command)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="refcli")


if __name__ == "__main__":  # pragma: no cover
    main()
