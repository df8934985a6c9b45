"""Opening archive files safely: only regular files, never blocking, hashed once.

A path that was a photo when the archive was walked may be a FIFO, a device or a folder by the
time it is read (a file replaced between discovery and decoding). Opening a FIFO for reading
blocks until a writer appears, so every read of a media file goes through ``open_regular``:
it opens without blocking, checks what it opened, and only then reads. Decoders that want a
path get one that names the already opened file (``/proc/self/fd/N``), so nothing can be
swapped in between the check and the decoder's own open.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from refcli.errors import MediaError

HASH_BLOCK = 1 << 20


class PathError(MediaError):
    """The path, not its content, is the problem: missing, not a regular file, not allowed.

    Such a failure belongs to the path (the files table), never to the content: the same bytes
    under another name are indexed as usual.
    """

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing

    def __reduce__(self) -> tuple[type[PathError], tuple[str], dict[str, bool]]:  # for Ray's pickling
        return PathError, (str(self),), {"missing": self.missing}


def open_regular(path: str) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file; raise PathError otherwise. Never blocks."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        if err.errno == errno.ENOENT:
            raise PathError("file disappeared before it could be read", missing=True) from None
        if err.errno == errno.ENXIO:  # a socket, or a FIFO opened for writing elsewhere
            raise PathError("not a regular file") from None
        raise PathError(f"cannot read file: {(err.strerror or str(err)).lower()}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise PathError("not a regular file (a folder, FIFO or device took its place)")
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def fd_path(f: BinaryIO, path: str) -> str:
    """A path that names the open file ``f`` itself, for decoders that open paths (FFmpeg, decord)."""
    for folder in ("/proc/self/fd", "/dev/fd"):
        candidate = f"{folder}/{f.fileno()}"
        if os.path.exists(candidate):
            return candidate
    return path  # no fd folder: the regular-file check above is the best there is


@contextmanager
def regular_path(path: str) -> Iterator[str]:
    """Within the block, a path to ``path``'s file that is known to be regular and stays so."""
    with open_regular(path) as f:
        yield fd_path(f, path)


def read_regular(path: str) -> bytes:
    """The whole file (photos are decoded from memory, and hashed from the same bytes)."""
    with open_regular(path) as f:
        try:
            return f.read()
        except OSError as err:
            raise MediaError(f"cannot read file: {(err.strerror or str(err)).lower()}") from None


def full_hash(data: bytes | None = None, *, path: str | None = None) -> str:
    """BLAKE2b of the whole content (of ``data``, or of the file at ``path`` read in 1 MiB blocks).

    The partial hash of the content id spots moves cheaply; this one decides whether a file
    whose partial hash matches really holds the same bytes.
    """
    digest = hashlib.blake2b(digest_size=16)
    if data is not None:
        digest.update(data)
        return digest.hexdigest()
    assert path is not None
    with open_regular(path) as f:
        try:
            while block := f.read(HASH_BLOCK):
                digest.update(block)
        except OSError as err:
            raise MediaError(f"cannot read file: {(err.strerror or str(err)).lower()}") from None
    return digest.hexdigest()
