"""The LanceDB index: schema, generations, the writer lock, and what readers see.

`Store` (refcli.store.store) is the database; its parts ``contents``, ``gallery``, ``watches`` and
``caches`` read and write what the tables hold.
"""

from refcli.store.caches import AnswerRow, GroundedRow, frame_cache_key
from refcli.store.content import FileRecord, MediaRecord
from refcli.store.gallery import GalleryRow
from refcli.store.store import Store, default_db_path

__all__ = ["AnswerRow", "FileRecord", "GalleryRow", "GroundedRow", "MediaRecord", "Store", "default_db_path",
           "frame_cache_key"]
