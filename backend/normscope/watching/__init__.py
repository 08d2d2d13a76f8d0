"""normscope.watch(): stream any PyTorch training loop to the dashboard (torch + engine + a client)."""

from normscope.watching.outlet import WatchError
from normscope.watching.session import Cancelled, Session, watch

__all__ = ["Cancelled", "Session", "WatchError", "watch"]
