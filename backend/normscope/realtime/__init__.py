"""Pub/sub fan-out of encoded messages; never imports torch."""

from normscope.realtime.gzipped import GzipCache, gzip_text
from normscope.realtime.hub import Hub, HubFull, Message, Subscriber

__all__ = ["GzipCache", "Hub", "HubFull", "Message", "Subscriber", "gzip_text"]
