"""`refcli eval`: HumanRef benchmark runs and scoring."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from refcli.cli._common import referrer_settings
from refcli.defaults import PEOPLE_MIN_SCORE

app = typer.Typer(help="Score referring backends on the HumanRef benchmark, as the paper scores them.",
                  no_args_is_help=True, rich_markup_mode=None)

AnnotationsOpt = Annotated[Path, typer.Option("--annotations", help="HumanRef annotations.jsonl.",
                                              show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the scores as JSON on stdout.")]
CsvOpt = Annotated[Path | None, typer.Option("--csv", help="Also write the scores as CSV.", show_default=False)]


@app.command()
def humanref(
    ctx: typer.Context,
    annotations: AnnotationsOpt,
    images: Annotated[Path, typer.Option(help="Folder of the benchmark's images.", show_default=False)],
    backend: Annotated[str, typer.Option(help="Referrer backend (embedded, all-persons, ...).")] = "embedded",
    detector: Annotated[str | None, typer.Option(help="Detector for candidates [default: ssdlite].",
                                                 show_default=False)] = None,
    use_candidates: Annotated[bool, typer.Option("--use-candidates",
                                                 help="Use the benchmark's candidate boxes (referrer only).")] = False,
    out: Annotated[Path | None, typer.Option(help="Predictions file (JSONL); an existing one is continued.",
                                             show_default=False)] = None,
    min_score: Annotated[float, typer.Option(min=0.0, max=1.0, help="Detector score for a candidate.")]
    = PEOPLE_MIN_SCORE,
    model: Annotated[str | None, typer.Option("--model", envvar="REFCLI_VLM_MODEL",
                                              help="Model folder or name for model backends.",
                                              show_default=False)] = None,
    vlm_prompt: Annotated[str, typer.Option("--vlm-prompt", help="rex-thinker or marks.")] = "rex-thinker",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N, mps.")] = "auto",
    db: Annotated[Path | None, typer.Option("--db", envvar="REFCLI_DB",
                                            help="Database whose face gallery names people (optional).",
                                            show_default=False)] = None,
    grounder: Annotated[str | None, typer.Option("--grounder", envvar="REFCLI_GROUNDER",
                                                 help="Object grounder for expressions about things.",
                                                 show_default=False)] = None,
    grounder_model: Annotated[str | None, typer.Option("--grounder-model", envvar="REFCLI_GROUNDER_MODEL",
                                                       help="Model folder or name for --grounder.",
                                                       show_default=False)] = None,
    as_json: JsonOpt = False,
    csv_path: CsvOpt = None,
) -> None:
    """Run a backend over the benchmark, write predictions in the reference format, print scores."""
    from refcli.benchmark import check_images, run_humanref
    from refcli.cli._common import stderr_progress
    from refcli.detect import create_detector
    from refcli.errors import RefcliError
    from refcli.evaluate import evaluate, load_annotations, load_predictions
    from refcli.query import build_grounder, build_referrer

    if use_candidates and detector:
        raise RefcliError("choose --detector or --use-candidates, not both")
    check_images(str(images))
    items = load_annotations(str(annotations))
    source = "candidates" if use_candidates else (detector or "ssdlite")
    target = out or Path(f"humanref-{backend}-{source}.jsonl")
    gallery = {}
    if db is not None:
        from refcli.store import Store

        gallery = Store.open(str(db)).gallery.embeddings()
    settings = referrer_settings(ctx, backend=backend, gallery=gallery, model=model, vlm_prompt=vlm_prompt,
                                 device=device, grounder=grounder, grounder_model=grounder_model)
    referrer = build_referrer(settings)
    found = None if use_candidates else create_detector(detector or "ssdlite", device=device)
    found_by = build_grounder(settings)
    counts = run_humanref(items, str(images), referrer, str(target), detector=found, min_score=min_score,
                          progress=None if as_json else stderr_progress, grounder=found_by)
    typer.echo(f"predictions: {target} ({counts['done']} new, {counts['skipped']} already there, "
               f"{counts['unreadable_images']} unreadable images)", err=True)
    report = evaluate(items, load_predictions(str(target)), name=f"{backend}+{source}")
    _show([report], as_json, csv_path)


@app.command()
def score(
    annotations: AnnotationsOpt,
    predictions: Annotated[list[Path], typer.Option("--predictions", help="Predictions JSONL; repeat to compare.",
                                                    show_default=False)],
    name: Annotated[list[str] | None, typer.Option("--name", help="Row name per predictions file (in order).",
                                                   show_default=False)] = None,
    as_json: JsonOpt = False,
    csv_path: CsvOpt = None,
) -> None:
    """Score existing predictions, several systems side by side."""
    from refcli.evaluate import evaluate, load_annotations, load_predictions

    items = load_annotations(str(annotations))
    names = list(name or [])
    reports = [evaluate(items, load_predictions(str(p)), name=names[i] if i < len(names) else Path(p).stem)
               for i, p in enumerate(predictions)]
    _show(reports, as_json, csv_path)


def _show(reports: list[Any], as_json: bool, csv_path: Path | None) -> None:
    if csv_path is not None:
        write_csv(reports, str(csv_path))
    if as_json:
        typer.echo(json.dumps({"models": [r.to_dict() for r in reports]}, indent=2))
        return
    from refcli.cli._output import print_eval

    print_eval(reports)


def write_csv(reports: list[Any], path: str) -> None:
    from refcli.evaluate import ExpressionScore

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["model", "group", "name", *ExpressionScore.FIELDS, "samples"])
        for r in reports:
            rows = [("average", "all", r.average)] if r.average else []
            rows += [("domain", k, v) for k, v in r.domains.items()]
            rows += [("subdomain", k, v) for k, v in r.subdomains.items()]
            rows += [("box_count", k, v) for k, v in r.buckets.items()]
            for group, key, values in rows:
                writer.writerow([r.name, group, key, *(f"{values[f]:.4f}" for f in ExpressionScore.FIELDS),
                                 values["samples"]])
            writer.writerow([r.name, "rejection", "correct", r.rejection.get("correct", 0), "", "", "", "", "",
                             r.rejection.get("total", 0)])
