"""Human-readable output for the terminal (rich); --json output bypasses this module."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.style import Style
from rich.table import Table
from rich.text import Text

from refcli.cli._safe import printable
from refcli.query.hits import FindResult, format_span
from refcli.refer.embedded import MODEL_BACKEND_HINT


def _console() -> Console:
    """Terminal width on a terminal; no wrapping when piped, so each hit stays on one line."""
    console = Console()
    return console if console.is_terminal else Console(width=1000)


def print_find(result: FindResult, console: Console | None = None) -> None:
    console = console or _console()
    if result.unsupported:
        phrases = ", ".join(f'"{printable(p)}"' for p in result.unsupported)
        console.print(f"nobody: the {result.backend} backend cannot judge {phrases}, so it does not guess; "
                      f"{MODEL_BACKEND_HINT}, or --ignore-unsupported answers the rest of the query",
                      highlight=False, markup=False)
        return
    if result.ignored:
        phrases = ", ".join(f'"{printable(p)}"' for p in result.ignored)
        console.print(f"ignored (cannot judge): {phrases}", highlight=False, markup=False)
    if not result.hits:
        console.print("nobody matches", highlight=False)
        return
    table = Table(box=None, pad_edge=False)
    for column, justify in (("score", "right"), ("file", "left"), ("time", "right"), ("box x1,y1,x2,y2", "left"),
                            ("hit", "left")):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for hit in result.hits:
        # A clickable file:// link where the terminal supports it (OSC 8); plain text elsewhere.
        path = Text(printable(hit.path), style=Style(link=Path(hit.path).as_uri()) if console.is_terminal else "")
        table.add_row(f"{hit.score:.2f}", path, format_span(hit.start, hit.end),
                      ",".join(f"{v:.0f}" for v in hit.box), hit.id)
    console.print(table)
    shown = len(result.hits)
    if shown < result.total:
        console.print(f"{shown} of {result.total} matches shown (--limit 0 shows all)", highlight=False)
    else:
        console.print(f"{result.total} match{'es' * (result.total != 1)}", highlight=False)


def print_status(report: dict[str, Any], console: Console | None = None) -> None:
    import time

    console = console or _console()
    last = time.strftime("%Y-%m-%d %H:%M", time.localtime(report["last_scan"])) if report["last_scan"] else "never"
    console.print(
        f"database {printable(report['db'])} (schema v{report['schema_version']}, "
        f"{report['size_bytes'] / 2**20:.1f} MiB)\n"
        f"{_count(report['files'], 'file')}: {_count(report['images'], 'image')}, "
        f"{_count(report['videos'], 'video')}, {report['failed']} failed, {report['gone']} gone\n"
        f"{_count(report['frames'], 'frame')} sampled, {_count(report['tracks'], 'track')} "
        f"({_count(report['people'], 'person track')})\n"
        f"{_count(report['watches'], 'standing query', )}; last scan {last}",
        highlight=False, markup=False)
    if report.get("index_settings"):
        from refcli.config import IndexSettings

        console.print(f"indexed with {printable(IndexSettings(**report['index_settings']).describe())} "
                      "(kept by later index and scan runs unless given)", highlight=False, markup=False)
    for failure in report["failures"]:
        console.print(f"failed: {printable(failure['path'])}: {printable(failure['error'])}", highlight=False,
                      markup=False)


def _count(n: int, noun: str) -> str:
    plural = noun.replace("query", "queries") if noun.endswith("query") else noun + "s"
    return f"{n} {noun if n == 1 else plural}"


_METRICS = (("recall_50", "R@.5"), ("recall_mean", "R@.5:.95"), ("precision_50", "P@.5"),
            ("precision_mean", "P@.5:.95"), ("density_f1_50", "DF1@.5"), ("density_f1_mean", "DF1@.5:.95"))


def print_eval(reports: list[Any], console: Console | None = None) -> None:
    """HumanRef tables: domains with their sub-domains, GT-count buckets, rejection, ceilings."""
    console = console or _console()
    table = Table(title="HumanRef: per domain and sub-domain (means over expressions)", box=None)
    for column in ("domain", "sub-domain", "model", *(label for _, label in _METRICS), "n", "abstained"):
        table.add_column(column, justify="left" if column in ("domain", "sub-domain", "model") else "right")
    domains = sorted({d for r in reports for d in r.domains})
    for domain in domains:
        for r in reports:
            if domain in r.domains:
                table.add_row(domain, "overall", r.name, *_cells(r.domains[domain]), str(r.abstentions.get(domain, 0)))
        for sub in sorted({s for r in reports for s, d in r.subdomain_of.items() if d == domain}):
            for r in reports:
                if sub in r.subdomains:
                    table.add_row("", sub, r.name, *_cells(r.subdomains[sub]), "")
    for r in reports:
        if r.average:
            table.add_row("average", "all data", r.name, *_cells(r.average),
                          str(sum(n for d, n in r.abstentions.items() if d != "rejection")))
    console.print(table)
    buckets = Table(title="Per number of people referred to", box=None)
    for column in ("GT boxes", "model", *(label for _, label in _METRICS), "n"):
        buckets.add_column(column, justify="left" if column in ("GT boxes", "model") else "right")
    from refcli.evaluate import BUCKETS

    for key in BUCKETS:
        for r in reports:
            if key in r.buckets:
                buckets.add_row(key, r.name, *_cells(r.buckets[key]))
    console.print(buckets)
    for r in reports:
        rej = r.rejection
        if rej.get("total"):
            console.print(f"{r.name}: rejection score {rej['correct']} of {rej['total']} "
                          f"({rej['correct_by_judgement']} judged, {rej['abstained']} abstained)", highlight=False)
        ceiling = r.candidate_ceiling.get("all")
        if ceiling is not None:
            console.print(f"{r.name}: candidates cover {ceiling:.1%} of GT boxes at IoU 0.5 (the ceiling for recall)",
                          highlight=False)
        if r.missing:
            console.print(f"{r.name}: {r.missing} expressions have no prediction line (scored as empty)",
                          highlight=False)


def _cells(row: dict[str, float]) -> list[str]:
    return [*(f"{row[key]:.3f}" for key, _ in _METRICS), str(int(row["samples"]))]


def describe_index(summary: Any) -> str:
    """The one-line summary of an index run."""
    indexed = summary.new + summary.updated
    extra = "".join(f", {n} {what}" for n, what in ((summary.settling, "settling (modified too recently)"),
                                                    (summary.gone, "gone")) if n)
    return (f"indexed {indexed} file{'s' * (indexed != 1)} ({summary.new} new, {summary.updated} updated), "
            f"{summary.unchanged} unchanged, {summary.linked} linked, {summary.failed} failed{extra}; "
            f"{summary.frames} frames" + (f" ({summary.reused} still, boxes reused)" if summary.reused else "")
            + f", {summary.people} people; {summary.seconds:.1f} s; "
            f"database {printable(summary.db)}")


def print_scan(report: Any, console: Console | None = None) -> None:
    """The morning report: what the scan indexed, then each new hit on one line."""
    console = console or _console()
    console.print(describe_index(report.index), highlight=False, markup=False)
    for problem in report.index.failures:
        console.print(f"failed: {printable(problem.path)}: {printable(problem.reason)}", highlight=False,
                      markup=False)
    for query, phrases in report.unsupported.items():
        console.print(f"watch {printable(repr(query))}: cannot judge {printable(', '.join(phrases))}",
                      highlight=False, markup=False)
    if not report.new_hits:
        console.print(f"no new hits ({_count(report.watches, 'standing query')})", highlight=False)
        return
    for new in report.new_hits:
        hit = new.hit
        console.print(f"new: {printable(repr(new.query))}: {printable(hit.path)} {format_span(hit.start, hit.end)} "
                      f"box {','.join(f'{v:.0f}' for v in hit.box)} score {hit.score:.2f} hit {hit.id}",
                      highlight=False, markup=False)
