"""Hub: publish an encoded message once, deliver the same text to every subscriber of a topic.

Each subscriber has a bounded queue. When it is full, the oldest *frame* is dropped (newest wins), never a
status message, so a slow viewer loses detail, not state, and never slows the publisher or the others.
Replies to a subscriber's own messages are bounded too: at most one of each kind waits to be sent, so a
client that sends and never reads cannot grow the server's memory. A state message (the presenter's view)
replaces its older copy still queued: a viewer gets the newest state, never a backlog of old ones.
A frame may carry its gzipped bytes too (compressed once, by the publisher) for subscribers that asked."""

import asyncio
import logging
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

from normscope.realtime.gzipped import GzipCache

log = logging.getLogger("normscope.hub")


class HubFull(Exception):
    """Subscribing would pass the limit on subscribers across all topics."""


@dataclass(frozen=True, slots=True)
class Message:
    text: str
    droppable: bool  # frames may be dropped for a slow subscriber; status messages may not
    reply: str | None = None  # the kind of a reply to the subscriber's own message: one of each kind waits
    close: tuple[int, str] | None = None  # (code, reason): the last message; the connection closes with it
    latest: str | None = None  # a state's name: a newer message of the same name replaces this one if queued
    gz: bytes | None = None  # the same text gzipped, for subscribers that asked for gzipped frames


class Subscriber:
    def __init__(self, maxlen: int, gzip: bool = False) -> None:
        self.maxlen = maxlen
        self.gzip = gzip  # sent a message's gz bytes where it has them
        self._queue: deque[Message] = deque()
        self._ready = asyncio.Event()
        self._replies: set[str] = set()  # kinds of reply now queued
        self.dropped = 0
        self.replies_dropped = 0

    def put(self, msg: Message) -> None:
        if msg.latest is not None:
            for i, queued in enumerate(self._queue):
                if queued.latest == msg.latest:
                    del self._queue[i]
                    break
        if len(self._queue) >= self.maxlen:
            for i, queued in enumerate(self._queue):
                if queued.droppable:
                    del self._queue[i]
                    self._count_drop()
                    break
            else:
                if msg.droppable:  # the queue holds only status messages: the new frame is the one to drop
                    self._count_drop()
                    return
        self._queue.append(msg)
        self._ready.set()

    def reply(self, kind: str, text: str) -> bool:
        """Queue a reply unless one of the same kind is still waiting (then the client gets that one)."""
        if kind in self._replies:
            self.replies_dropped += 1
            return False
        self._replies.add(kind)
        self._queue.append(Message(text, droppable=False, reply=kind))
        self._ready.set()
        return True

    def close(self, code: int, reason: str) -> None:
        """After what is queued, the connection closes with this code and reason."""
        self._queue.append(Message("", droppable=False, close=(code, reason)))
        self._ready.set()

    def _count_drop(self) -> None:
        if not self.dropped:
            log.info("a viewer is too slow for the stream; dropping its oldest frames (it can refetch them)")
        self.dropped += 1

    async def get(self) -> Message:
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        msg = self._queue.popleft()
        if msg.reply is not None:
            self._replies.discard(msg.reply)
        return msg

    def __len__(self) -> int:
        return len(self._queue)


class Hub:
    """Topics are experiment ids. Used from the event loop's thread; other threads use publish_threadsafe."""

    def __init__(self, queue_size: int = 64) -> None:
        self.queue_size = queue_size
        self._topics: dict[str, set[Subscriber]] = {}
        self._count = 0
        self._gzip_subscribers: Counter[str] = Counter()  # per topic; read from other threads, one lookup
        self._loop: asyncio.AbstractEventLoop | None = None
        self.gzipped = GzipCache()  # a frame compressed once serves live viewers and later joiners

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def wants_gzip(self, topic: str) -> bool:
        """Whether a subscriber of the topic asked for gzipped frames (safe from any thread: a subscriber
        that joins as a frame is published gets that one as text, which such a client reads as well)."""
        return self._gzip_subscribers.get(topic, 0) > 0

    def publish(
        self, topic: str, text: str, droppable: bool, latest: str | None = None, gz: bytes | None = None
    ) -> int:
        msg = Message(text, droppable, latest=latest, gz=gz)
        subs = self._topics.get(topic, ())
        for sub in subs:
            sub.put(msg)
        return len(subs)

    def publish_threadsafe(self, topic: str, text: str, droppable: bool, gz: bytes | None = None) -> None:
        assert self._loop is not None, "Hub.bind(loop) first"
        self._loop.call_soon_threadsafe(partial(self.publish, topic, text, droppable, gz=gz))

    def close_topic(self, topic: str, code: int, reason: str) -> int:
        """Every subscriber of the topic gets what is queued for it, then its connection closes."""
        subs = self._topics.get(topic, ())
        for sub in subs:
            sub.close(code, reason)
        return len(subs)

    @asynccontextmanager
    async def subscribe(
        self, topic: str, limit: int | None = None, gzip: bool = False
    ) -> AsyncIterator[Subscriber]:
        """Joins before the first await: the limit holds however many subscribe at the same moment."""
        if limit is not None and self._count >= limit:
            raise HubFull(f"{self._count} subscribers already (the limit is {limit})")
        sub = Subscriber(self.queue_size, gzip)
        self._topics.setdefault(topic, set()).add(sub)
        self._count += 1
        self._gzip_subscribers[topic] += gzip
        try:
            yield sub
        finally:
            self._count -= 1
            self._gzip_subscribers[topic] -= gzip
            if self._gzip_subscribers[topic] <= 0:
                del self._gzip_subscribers[topic]
            subs = self._topics.get(topic)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._topics[topic]

    def subscriber_count(self, topic: str | None = None) -> int:
        if topic is not None:
            return len(self._topics.get(topic, ()))
        return self._count
