"""LanceDB's failures turned into refcli's errors, in one place: the Store's boundary.

LanceDB reports a damaged table, a full disk and a read-only folder alike: a RuntimeError, OSError
or ValueError whose text starts with "lance error" (the OS errno, where there is one, is inside
the text as "(os error N)"). ``translate`` reads them into DatabaseDamagedError (repair is the way
back) or DatabaseWriteError (free space / fix permissions, run again). Anything it does not
recognise, such as a bad filter ("Invalid input, ..."), is a programming error and is raised as
it is, never passed off as damage.

Every LanceDB object the Store holds (the connection, its tables, their query and merge builders)
is wrapped in ``Guarded``, so no call on one can escape untranslated.
"""

from __future__ import annotations

import errno
import functools
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from refcli.errors import FULL_DISK_HINT, REPAIR_HINT, DatabaseDamagedError, DatabaseWriteError, StoreError

_OS_ERROR = re.compile(r"\(os error (\d+)\)")
_NOT_FOUND = re.compile(r"Not found: (\S+?)(?:,|$)")
_NO_TABLE = re.compile(r"Table '([^']+)' was not found")
_PANICS = {"RustPanic", "PanicException"}  # LanceDB's Rust code gave up on a garbled file
_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}
_GONE = {errno.ENOENT, errno.ENOTDIR, errno.EIO}  # a file of the table is missing or unreadable: damage
# LanceDB's words for files it cannot use as stored (missing ones match _NOT_FOUND).
_DAMAGE = ("lanceerror(io)", "corrupt", "too small", "fill whole buffer", "unexpected eof")


def translate(err: BaseException, db: str, table: str | None) -> StoreError | None:
    """The refcli error for a failure of LanceDB (or the OS) on database ``db``; None when it is
    not a database fault (a programming error: let it through unchanged)."""
    text = str(err)
    code = err.errno if isinstance(err, OSError) and err.errno else None
    found = _OS_ERROR.search(text)
    if found:
        code = int(found.group(1))
    where = f"table '{table}' of database {db}" if table else f"database {db}"
    if code in _FULL:
        what = "the disk is full" if code != errno.EFBIG else "a file cannot grow (File too large)"
        return DatabaseWriteError(f"cannot write to {where}: {what}; {FULL_DISK_HINT}")
    if code in _DENIED:
        what = "read-only file system" if code == errno.EROFS else "permission denied"
        return DatabaseWriteError(f"cannot write to {where}: {what}; run refcli as the folder's owner, "
                                  "or make the folder writable, and run the same command again")
    missing_table = _NO_TABLE.search(text)
    if missing_table and isinstance(err, ValueError):
        folder = os.path.join(db, f"{missing_table.group(1)}.lance")
        cause = ("its version history (_versions) is missing" if os.path.isdir(folder)
                 else "the table's folder is missing")
        return damaged(db, missing_table.group(1), cause)
    if type(err).__name__ in _PANICS:
        return damaged(db, table, "LanceDB cannot parse one of its files")
    lance = text.startswith("lance error")
    if not (lance or (isinstance(err, OSError) and code is not None)):
        return None  # a programming error, or the writer lock's own Timeout (an OSError without errno)
    if code is not None and code not in _GONE:  # the OS refused (too many open files...): no damage
        return StoreError(f"cannot use {where}: {os.strerror(code)}")
    if isinstance(err, OSError) and not lance:  # a file of the table is gone (ENOENT, EIO)
        return damaged(db, table, f"{err.strerror}: {err.filename}" if err.filename else str(err.strerror))
    if not (_NOT_FOUND.search(text) or any(word in text.lower() for word in _DAMAGE) or code is not None):
        return None
    return damaged(db, table, _cause(text, table))


def damaged(db: str, table: str | None, cause: str) -> DatabaseDamagedError:
    what = f"table '{table}' cannot be read" if table else "it cannot be read"
    return DatabaseDamagedError(f"database {db} is damaged: {what} ({cause}); {REPAIR_HINT}", table=table,
                                cause=cause)


def _cause(text: str, table: str | None) -> str:
    """The short cause: which file is missing, or LanceDB's words without its source location."""
    missing = _NOT_FOUND.search(text)
    if missing:
        path = missing.group(1)
        marker = f"{table}.lance/" if table else ".lance/"
        return f"missing file {path[path.find(marker):] if marker in path else os.path.basename(path)}"
    lowered = text.lower()
    if "fill whole buffer" in lowered or "too small" in lowered or "unexpected eof" in lowered:
        return "a file is truncated"
    detail = text.removeprefix("lance error:").strip()
    detail = re.sub(r",\s*/\S+\.rs:\d+:\d+", "", detail)  # the Rust source location
    return detail.splitlines()[0][:120] if detail else "LanceDB gave no reason"


@contextmanager
def guarded(db: str, table: str | None = None) -> Iterator[None]:
    """Translate database faults raised inside the block (file locks, the writer's own files)."""
    try:
        yield
    except Exception as err:  # translate() lets through everything it does not recognise
        translated = translate(err, db, table)
        if translated is None:
            raise
        raise translated from err


class Guarded:
    """A LanceDB object whose every call (and attribute read: some are queries) is guarded; what
    the call returns is wrapped too when it is LanceDB's (a table, a query builder)."""

    __slots__ = ("_target", "_db", "_name")

    def __init__(self, target: Any, db: str, table: str | None = None) -> None:
        self._target = target
        self._db = db
        self._name = table

    def __getattr__(self, attr: str) -> Any:
        with guarded(self._db, self._name):
            value = getattr(self._target, attr)
        if not callable(value):
            return value

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            # connection calls (open_table, create_table, drop_table) name their table first
            table = self._name or (args[0] if args and isinstance(args[0], str) else kwargs.get("name"))
            with guarded(self._db, table):
                result = value(*args, **kwargs)
            if type(result).__module__.split(".")[0] == "lancedb":
                return Guarded(result, self._db, table)
            return result

        return call

    def __repr__(self) -> str:
        return f"Guarded({self._target!r})"
