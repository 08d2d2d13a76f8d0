"""normscope: watch Batch Normalization work, live.

`normscope.watch`, `Session`, `Cancelled` and `WatchError` load torch only when first used, so importing
normscope (as the server does) stays light."""

from typing import Any

__version__ = "0.1.0"
_WATCH = ("watch", "Session", "Cancelled", "WatchError")


def __getattr__(name: str) -> Any:
    if name in _WATCH:
        from normscope import watching

        return getattr(watching, name)
    raise AttributeError(f"module 'normscope' has no attribute {name!r}")
