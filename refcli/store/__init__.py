"""The LanceDB index: schema, generations, the writer lock, and what readers see."""

from refcli.store.store import FileRecord, MediaRecord, Store, default_db_path, frame_cache_key

__all__ = ["FileRecord", "MediaRecord", "Store", "default_db_path", "frame_cache_key"]
