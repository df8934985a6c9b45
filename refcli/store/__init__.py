"""The LanceDB index: schema, generations, the writer lock, and what readers see."""

from refcli.store.caches import AnswerRow, GroundedRow, frame_cache_key
from refcli.store.gallery import GalleryRow
from refcli.store.store import FileRecord, MediaRecord, Store, default_db_path

__all__ = ["AnswerRow", "FileRecord", "GalleryRow", "GroundedRow", "MediaRecord", "Store", "default_db_path",
           "frame_cache_key"]
