"""Pub/sub fan-out of encoded messages; never imports torch."""

from normscope.realtime.hub import Hub, HubFull, Message, Subscriber

__all__ = ["Hub", "HubFull", "Message", "Subscriber"]
