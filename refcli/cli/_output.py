"""Human-readable output for the terminal (rich); --json output bypasses this module."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from refcli.search import FindResult


def format_time(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{rest:04.1f}" if hours else f"{minutes:02d}:{rest:04.1f}"


def format_span(start: float | None, end: float | None) -> str:
    if start is None:
        return ""
    if end is None or end == start:
        return format_time(start)
    return f"{format_time(start)}-{format_time(end)}"


def _console() -> Console:
    """Terminal width on a terminal; no wrapping when piped, so each hit stays on one line."""
    console = Console()
    return console if console.is_terminal else Console(width=1000)


def print_find(result: FindResult, console: Console | None = None) -> None:
    console = console or _console()
    if result.unsupported:
        phrases = ", ".join(f'"{p}"' for p in result.unsupported)
        console.print(f"nobody: the {result.backend} backend cannot judge {phrases}, so it does not guess",
                      highlight=False)
        return
    if not result.hits:
        console.print("nobody matches", highlight=False)
        return
    table = Table(box=None, pad_edge=False)
    for column, justify in (("score", "right"), ("file", "left"), ("time", "right"), ("box x1,y1,x2,y2", "left"),
                            ("hit", "left")):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for hit in result.hits:
        table.add_row(f"{hit.score:.2f}", hit.path, format_span(hit.start, hit.end),
                      ",".join(f"{v:.0f}" for v in hit.box), hit.id)
    console.print(table)
    shown = len(result.hits)
    if shown < result.total:
        console.print(f"{shown} of {result.total} matches shown (--limit 0 shows all)", highlight=False)
    else:
        console.print(f"{result.total} match{'es' * (result.total != 1)}", highlight=False)


def print_status(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or _console()
    console.print(
        f"database {report['db']} (schema v{report['schema_version']})\n"
        f"{_count(report['files'], 'file')}: {_count(report['images'], 'image')}, "
        f"{_count(report['videos'], 'video')}, {report['failed']} failed\n"
        f"{_count(report['frames'], 'frame')} sampled, {_count(report['people'], 'person track')}",
        highlight=False)
    for failure in report["failures"]:
        console.print(f"failed: {failure['path']}: {failure['error']}", highlight=False, markup=False)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"
