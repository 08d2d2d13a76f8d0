"""SQLite persistence; never imports torch."""

from normscope.store.db import Store, StoreFull, TooManyMarks

__all__ = ["Store", "StoreFull", "TooManyMarks"]
