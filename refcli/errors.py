"""Exceptions raised by the library; the CLI maps each type to a message and an exit code."""

from __future__ import annotations


class RefcliError(Exception):
    """Base class: every error refcli raises on purpose derives from it."""


class UsageError(RefcliError):
    """The command was asked something it cannot mean (an empty query): exit 2, like click's."""


class MediaError(RefcliError):
    """One file could not be read or decoded. The run records it and goes on."""


class StoreError(RefcliError):
    """The database cannot be opened or used as asked."""


REPAIR_HINT = ("run `refcli repair` to salvage what can be read and re-index the rest "
               "(or restore the folder from a backup)")


class DatabaseDamagedError(StoreError):
    """A table of the database cannot be read as stored: `refcli repair` is the way back."""

    def __init__(self, message: str, *, table: str | None = None, cause: str | None = None) -> None:
        super().__init__(message)
        self.table = table  # None: the database as a whole
        self.cause = cause or message


class DatabaseWriteError(StoreError):
    """The database cannot be written: its disk is full, or it is read-only (permissions, a
    read-only filesystem). Nothing is damaged: the message says what to change and to run again."""


FULL_DISK_HINT = "free some space and run the same command again: nothing indexed so far is lost"


class WriterBusyError(StoreError):
    """Another process holds the database's writer lock."""


class SchemaTooNewError(StoreError):
    """The database was written by a newer refcli."""


class OutputPathError(RefcliError):
    """An output path (--html, --contact-sheet, --thumbnails, --clips, -o) cannot be written as
    asked: a folder where a file is wanted, a file where a folder is wanted, or no permission."""


class BackendError(RefcliError):
    """A detector or referrer backend is unknown, missing or failed to load."""


class MissingExtraError(BackendError):
    """A backend needs an optional dependency that is not installed."""

    def __init__(self, what: str, extra: str) -> None:
        super().__init__(f"{what} needs an optional dependency: pip install 'refcli[{extra}]'")
        self.extra = extra
