"""Which content a file holds: the partial hash spots moves cheaply, the full hash decides.

The content id is a partial hash (the size and three 64 KiB chunks, ``content_id``): a moved
or copied file is recognised without reading it. That alone is trusted only when the file's size
and modification time were seen before with that content; a file edited in place (same size,
new mtime) or a copy with a new mtime is hashed whole and compared with the full hash stored
for the content.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from refcli.io.discover import Fingerprint, FoundFile, content_id, verified_id
from refcli.io.files import full_hash

if TYPE_CHECKING:
    from refcli.index.plan import Job
    from refcli.store import FileRecord, MediaRecord


class ContentIdentity:
    """Which content a file holds, from its partial hash, trusted only as far as it can be.

    The partial hash (three chunks and the size) spots moves and copies without reading them. It
    alone is trusted when this size and modification time were seen before with this content;
    otherwise (a file edited in place, a copy with a new mtime) the whole file is hashed and
    compared with the full hash stored for the content, and a file that differs gets an id of
    its own (``verified_id``).
    """

    def __init__(self, files: dict[str, FileRecord], media: dict[str, MediaRecord]) -> None:
        self.media = media
        self.seen: dict[str, set[tuple[int, int]]] = {}
        for record in files.values():
            if record.content_id:
                self.seen.setdefault(record.content_id, set()).add(
                    (record.fingerprint.size, record.fingerprint.mtime_ns))
        self.hashes: dict[str, str] = {}  # path -> full hash, computed at most once per run

    def full(self, path: str) -> str:
        if path not in self.hashes:
            self.hashes[path] = full_hash(path=path)
        return self.hashes[path]

    def of(self, found: FoundFile, partial: str, scheduled: dict[str, Job]) -> tuple[str, bool]:
        """The content id of ``found``, whose partial hash is ``partial``, and whether the stored
        rows of that content may be reused for it (False: it is indexed again). Raises MediaError."""
        key = (found.fingerprint.size, found.fingerprint.mtime_ns)
        record = self.media.get(partial)
        job = scheduled.get(partial)
        if (record is None and job is None) or key in self.seen.get(partial, ()):
            return partial, True  # content never seen (its full hash is taken while decoding), or seen as is
        if job is not None:
            first = job.file_rows[0]
            if (first["size"], first["mtime_ns"]) == key or self.full(job.path) == self.full(found.path):
                return partial, True
            return verified_id(self.full(found.path)), True
        assert record is not None
        if record.full_hash is None:
            return partial, False  # indexed before full hashes were kept: cannot tell, so index it again
        if self.full(found.path) == record.full_hash:
            return partial, True
        return verified_id(self.full(found.path)), True


def still_holds(path: str, record: MediaRecord, known: FileRecord | None, data: bytes | None = None) -> bool:
    """Whether ``path`` still holds the content of ``record`` (so boxes found in it apply to it).

    Its fingerprint unchanged since it was indexed is enough, as for `refcli index`; otherwise
    the file is hashed (``data``: its bytes, already read). Raises MediaError if it cannot be read.
    """
    fingerprint = Fingerprint.of(os.stat(path))
    if known is not None and known.content_id == record.content_id and known.fingerprint == fingerprint:
        return True
    if record.full_hash is not None:
        return (full_hash(data) if data is not None else full_hash(path=path)) == record.full_hash
    return content_id(path, fingerprint.size) == record.content_id
