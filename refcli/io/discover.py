"""Walk an archive: which files are media, how to recognise them again cheaply, and their content id."""

from __future__ import annotations

import enum
import errno
import hashlib
import os
import re
import stat as stat_module
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from refcli.io.files import open_regular

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".ppm", ".pgm"}
)
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp", ".ts",
     ".mts", ".m2ts", ".ogv", ".vob"}
)

HASH_CHUNK = 64 * 1024


class MediaKind(enum.StrEnum):
    IMAGE = "image"
    VIDEO = "video"


def media_kind(path: str) -> MediaKind | None:
    """Kind of media by file extension, or None for files refcli does not index."""
    ext = os.path.splitext(path)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return MediaKind.IMAGE
    if ext in VIDEO_EXTENSIONS:
        return MediaKind.VIDEO
    return None


@dataclass(frozen=True)
class Fingerprint:
    """What the quick check compares: a file whose fingerprint is unchanged is not read again.

    The mode is included so that fixing a file's permissions makes it worth another try.
    """

    size: int
    mtime_ns: int
    mode: int

    @classmethod
    def of(cls, st: os.stat_result) -> Fingerprint:
        return cls(size=st.st_size, mtime_ns=st.st_mtime_ns, mode=stat_module.S_IMODE(st.st_mode))


@dataclass(frozen=True)
class FoundFile:
    """A media file found on disk. ``path`` is the real (absolute) path to open."""

    path: str
    kind: MediaKind
    fingerprint: Fingerprint


@dataclass(frozen=True)
class WalkProblem:
    """Something under a root that could not be looked at (unreadable folder, broken link).

    ``fingerprint`` (of the path itself, not followed) is set where the problem belongs to
    something on disk that can be recorded and recognised again, so that the same broken link
    is reported once, not every night; ``kind`` is its media kind, or "folder".
    """

    path: str
    reason: str
    fingerprint: Fingerprint | None = None
    kind: str | None = None


def display_path(path: str) -> str:
    """The path as valid UTF-8 text for storage and output.

    Linux file names are bytes; names that are not UTF-8 reach Python as surrogate escapes,
    which Arrow cannot store. They are kept readable with backslash escapes instead.
    """
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def walk(roots: Iterable[str], *, include_hidden: bool = False) -> Iterator[FoundFile | WalkProblem]:
    """Yield every media file under ``roots`` (files or folders), recursively, in a stable order.

    Hidden files and folders (names starting with '.') are skipped unless asked for: they are
    caches, trash folders and macOS '._' resource forks that carry media extensions but no media.
    A root that is a file is taken whatever its name.
    """
    for root in roots:
        root = os.path.abspath(root)
        if not os.path.isdir(root):
            yield from _found(root, explicit=True)
            continue
        problems: list[WalkProblem] = []

        def on_error(err: OSError, problems: list[WalkProblem] = problems, root: str = root) -> None:
            path = err.filename or root
            problems.append(WalkProblem(path, _reason(err), _lfingerprint(path), "folder"))

        for folder, dirnames, filenames in os.walk(root, onerror=on_error):
            dirnames[:] = sorted(d for d in dirnames if include_hidden or not _is_hidden(d))
            for name in sorted(filenames):
                if include_hidden or not _is_hidden(name):
                    yield from _found(os.path.join(folder, name), explicit=False)
            yield from problems
            problems.clear()


def _found(path: str, *, explicit: bool) -> Iterator[FoundFile | WalkProblem]:
    kind = media_kind(path)
    if kind is None:
        if explicit:
            yield WalkProblem(path, "not a supported image or video file type")
        return
    try:
        st = os.stat(path)
    except OSError as err:
        if err.errno == errno.ELOOP:
            reason = "symbolic link loop"
        elif os.path.islink(path):
            reason = "broken symbolic link"
        else:
            reason = _reason(err)
        yield WalkProblem(path, reason, _lfingerprint(path), kind.value)
        return
    if not stat_module.S_ISREG(st.st_mode):
        if explicit:
            yield WalkProblem(path, "not a regular file")
        return
    yield FoundFile(path=path, kind=kind, fingerprint=Fingerprint.of(st))


def _reason(err: OSError) -> str:
    return (err.strerror or str(err)).lower()


def _lfingerprint(path: str) -> Fingerprint | None:
    try:
        return Fingerprint.of(os.lstat(path))
    except OSError:
        return None


def content_id(path: str, size: int) -> str:
    """Content identity that does not depend on the path: moves and copies keep it.

    Hashes the size and three 64 KiB chunks (start, middle, end) like rclip's partial hash:
    three reads per file whatever its size, so re-hashing a changed 4 GB video is instant.
    Raises OSError when the file cannot be read.
    """
    digest = hashlib.blake2b(str(size).encode(), digest_size=16)
    with open_regular(path) as f:
        for offset in sorted({0, max(0, size // 2 - HASH_CHUNK // 2), max(0, size - HASH_CHUNK)}):
            f.seek(offset)
            digest.update(f.read(HASH_CHUNK))
    return digest.hexdigest()


def verified_id(digest: str) -> str:
    """The content id of content whose partial hash collides with other content's: derived from
    its full hash (``refcli.io.files.full_hash``), so every copy of it gets the same id."""
    return hashlib.blake2b(f"full|{digest}".encode(), digest_size=16).hexdigest()


def db_path(path: str) -> str:
    """The path as stored: valid UTF-8 text that names exactly one file.

    Linux file names are bytes; names that are not UTF-8 reach Python as surrogate escapes
    (``os.fsdecode``), which Arrow cannot store. Each such byte is stored as NUL and two hex
    digits: no real path holds a NUL, so two different names can never be stored alike (a
    backslash escape would make ``caf\\xe9.jpg`` and ``caf<0xe9>.jpg`` one file).
    """
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return _SURROGATE.sub(lambda m: f"\x00{ord(m.group()) - 0xDC00:02x}", path)


def real_path(stored: str) -> str:
    """The inverse of ``db_path``: the path to open."""
    return _STORED_BYTE.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), stored) if "\x00" in stored else stored


_SURROGATE = re.compile("[\udc80-\udcff]")
_STORED_BYTE = re.compile("\x00([0-9a-f]{2})")
