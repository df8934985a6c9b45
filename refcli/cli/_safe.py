"""Text from the archive (file names, queries, names of people) made safe to print on a terminal.

A file may be named ``\\x1b[2J.jpg``: printed raw, it clears the screen; other escape codes
rewrite lines, set the window title or hide text, and bidi controls reorder what is shown.
Human-readable output escapes them (``\\x1b``); names that are not UTF-8 show their bytes
(``\\xff``). ``--json`` output is exact instead (JSON escapes control characters itself).
"""

from __future__ import annotations

import re

import typer

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\udc80-\udcff]")
_UNSAFE_BUT_LAYOUT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                                 "\udc80-\udcff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a file name (os.fsdecode's surrogate escape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` with every control character escaped, newlines included: one field, one line."""
    return _UNSAFE.sub(_escape, str(text))


def say(text: str, *, err: bool = False) -> None:
    """Print a line (or lines) of human-readable output; control characters other than the line
    breaks and tabs refcli itself lays out with are escaped, whatever the fields in it forgot."""
    typer.echo(_UNSAFE_BUT_LAYOUT.sub(_escape, text), err=err)
