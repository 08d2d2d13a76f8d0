"""Hub: publish an encoded message once, deliver the same text to every subscriber of a topic.

Each subscriber has a bounded queue. When it is full, the oldest *frame* is dropped (newest wins), never a
status message, so a slow viewer loses detail, not state, and never slows the publisher or the others."""

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

log = logging.getLogger("normscope.hub")


@dataclass(frozen=True, slots=True)
class Message:
    text: str
    droppable: bool  # frames may be dropped for a slow subscriber; status messages may not


class Subscriber:
    def __init__(self, maxlen: int) -> None:
        self.maxlen = maxlen
        self._queue: deque[Message] = deque()
        self._ready = asyncio.Event()
        self.dropped = 0

    def put(self, msg: Message) -> None:
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

    def _count_drop(self) -> None:
        if not self.dropped:
            log.info("a viewer is too slow for the stream; dropping its oldest frames (it can refetch them)")
        self.dropped += 1

    async def get(self) -> Message:
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()

    def __len__(self) -> int:
        return len(self._queue)


class Hub:
    """Topics are experiment ids. Used from the event loop's thread; other threads use publish_threadsafe."""

    def __init__(self, queue_size: int = 64) -> None:
        self.queue_size = queue_size
        self._topics: dict[str, set[Subscriber]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, topic: str, text: str, droppable: bool) -> int:
        msg = Message(text, droppable)
        subs = self._topics.get(topic, ())
        for sub in subs:
            sub.put(msg)
        return len(subs)

    def publish_threadsafe(self, topic: str, text: str, droppable: bool) -> None:
        assert self._loop is not None, "Hub.bind(loop) first"
        self._loop.call_soon_threadsafe(self.publish, topic, text, droppable)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[Subscriber]:
        sub = Subscriber(self.queue_size)
        self._topics.setdefault(topic, set()).add(sub)
        try:
            yield sub
        finally:
            subs = self._topics.get(topic)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._topics[topic]

    def subscriber_count(self, topic: str | None = None) -> int:
        if topic is not None:
            return len(self._topics.get(topic, ()))
        return sum(len(s) for s in self._topics.values())
