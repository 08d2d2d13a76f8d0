"""SQLite persistence; never imports torch."""

from normscope.store.db import Store

__all__ = ["Store"]
