"""SQLite persistence; never imports torch."""

from normscope.store.db import Store, StoreFull

__all__ = ["Store", "StoreFull"]
