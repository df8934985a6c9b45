"""One table from exception type to exit code; the message itself names the next step."""

from __future__ import annotations

from refcli.errors import (
    BackendError,
    MediaError,
    OutputPathError,
    RefcliError,
    SchemaTooNewError,
    StoreError,
    UsageError,
    WriterBusyError,
)

EXIT_ERROR = 1
EXIT_USAGE = 2  # click's code for bad usage; also an empty query or an output path that cannot be written
EXIT_STORE = 3
EXIT_BACKEND = 4
EXIT_MEDIA = 5
EXIT_BUSY = 75  # EX_TEMPFAIL: cron wrappers can tell "try later" from "broken"
EXIT_NEW_HITS = 10  # `refcli scan`: standing queries found someone new
EXIT_FILES_FAILED = 11  # `refcli scan`: some files could not be read (they are in the report)
EXIT_INTERRUPTED = 130

# Most specific first.
EXIT_CODES: list[tuple[type[RefcliError], int]] = [
    (WriterBusyError, EXIT_BUSY),
    (SchemaTooNewError, EXIT_STORE),
    (OutputPathError, EXIT_USAGE),
    (StoreError, EXIT_STORE),
    (BackendError, EXIT_BACKEND),
    (UsageError, EXIT_USAGE),
    (MediaError, EXIT_MEDIA),
    (RefcliError, EXIT_ERROR),
]


def exit_code(err: RefcliError) -> int:
    for cls, code in EXIT_CODES:
        if isinstance(err, cls):
            return code
    return EXIT_ERROR
