"""Pub/sub fan-out of encoded messages; never imports torch."""

from normscope.realtime.hub import Hub, Message, Subscriber

__all__ = ["Hub", "Message", "Subscriber"]
