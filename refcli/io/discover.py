"""Walk an archive: which files are media, how to recognise them again cheaply, and their content id."""

from __future__ import annotations

import enum
import hashlib
import os
import stat as stat_module
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

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
    """Something under a root that could not be looked at (unreadable folder, broken link)."""

    path: str
    reason: str


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
            problems.append(WalkProblem(err.filename or root, _reason(err)))

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
        yield WalkProblem(path, "broken symbolic link" if os.path.islink(path) else _reason(err))
        return
    if not stat_module.S_ISREG(st.st_mode):
        if explicit:
            yield WalkProblem(path, "not a regular file")
        return
    yield FoundFile(path=path, kind=kind, fingerprint=Fingerprint.of(st))


def _reason(err: OSError) -> str:
    return (err.strerror or str(err)).lower()


def content_id(path: str, size: int) -> str:
    """Content identity that does not depend on the path: moves and copies keep it.

    Hashes the size and three 64 KiB chunks (start, middle, end) like rclip's partial hash:
    three reads per file whatever its size, so re-hashing a changed 4 GB video is instant.
    Raises OSError when the file cannot be read.
    """
    digest = hashlib.blake2b(str(size).encode(), digest_size=16)
    with open(path, "rb") as f:
        for offset in sorted({0, max(0, size // 2 - HASH_CHUNK // 2), max(0, size - HASH_CHUNK)}):
            f.seek(offset)
            digest.update(f.read(HASH_CHUNK))
    return digest.hexdigest()
