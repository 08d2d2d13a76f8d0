"""normscope: watch Batch Normalization work, live.

`normscope.watch`, `Session`, `Cancelled` and `WatchError` load torch only when first used, so importing
normscope (as the server does) stays light."""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("normscope")  # pyproject.toml is the one place the version is written
except PackageNotFoundError:  # a source tree on sys.path that was never installed
    __version__ = "0+unknown"
_WATCH = ("watch", "Session", "Cancelled", "WatchError")


def __getattr__(name: str) -> Any:
    if name in _WATCH:
        from normscope import watching

        return getattr(watching, name)
    raise AttributeError(f"module 'normscope' has no attribute {name!r}")
