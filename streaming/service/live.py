"""The live feed of reclassifications: one publisher thread, many asyncio subscribers.

The materialiser thread calls ``publish``; every open server-sent-event stream holds a
``Subscription`` (a bounded asyncio queue on its event loop). Events carry a sequence number, so a
reconnecting browser (``Last-Event-ID``) gets what it missed from the recent backlog, and a
subscriber never sees an event twice. A client too slow to read loses its oldest queued events,
never blocks the publisher.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FeedEvent:
    seq: int
    data: Mapping[str, Any]


class Subscription:
    """Events published after ``subscribe``, preceded by the backlog the subscriber asked for."""

    def __init__(self, feed: ReclassificationFeed, backlog: list[FeedEvent], queue_size: int) -> None:
        self._feed = feed
        self._backlog = backlog
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[FeedEvent | None] = asyncio.Queue(maxsize=queue_size)

    def offer(self, event: FeedEvent | None) -> None:
        """Called from any thread; None ends the subscriber's stream."""
        try:
            self._loop.call_soon_threadsafe(self._put, event)
        except RuntimeError:  # the subscriber's loop is closed: it is gone
            self._feed.unsubscribe(self)

    def _put(self, event: FeedEvent | None) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self._feed.on_drop()
        self._queue.put_nowait(event)

    async def events(self) -> AsyncIterator[FeedEvent]:
        last = -1
        for event in self._backlog:
            last = event.seq
            yield event
        while True:
            event = await self._queue.get()
            if event is None:
                return
            if event.seq > last:
                last = event.seq
                yield event

    def close(self) -> None:
        self._feed.unsubscribe(self)


class ReclassificationFeed:
    """Keeps the last ``backlog`` events and fans each new one out to the subscribers."""

    def __init__(
        self,
        backlog: int = 50,
        queue_size: int = 256,
        on_drop: Callable[[], None] = lambda: None,
        on_subscribers: Callable[[int], None] = lambda n: None,
    ) -> None:
        self._recent: deque[FeedEvent] = deque(maxlen=backlog)
        self._subscribers: set[Subscription] = set()
        self._seq = 0
        self._closed = False
        self._queue_size = queue_size
        self._lock = threading.Lock()
        self.on_drop = on_drop
        self._on_subscribers = on_subscribers

    def close(self) -> None:
        """End every open stream (server shutdown); later subscribers get the backlog, then the end."""
        with self._lock:
            self._closed = True
            subscribers = list(self._subscribers)
        for subscription in subscribers:
            subscription.offer(None)

    def publish(self, data: Mapping[str, Any]) -> FeedEvent:
        with self._lock:
            self._seq += 1
            event = FeedEvent(self._seq, data)
            self._recent.append(event)
            subscribers = list(self._subscribers)
        for subscription in subscribers:
            subscription.offer(event)
        return event

    def recent(self, after: int = 0) -> list[FeedEvent]:
        """Backlog events with a sequence number above ``after``, oldest first."""
        with self._lock:
            return [event for event in self._recent if event.seq > after]

    def subscribe(self, after: int | None = None) -> Subscription:
        """Call on the subscriber's event loop; ``after`` None means no backlog, else seq > after."""
        with self._lock:
            backlog = [] if after is None else [e for e in self._recent if e.seq > after]
            subscription = Subscription(self, backlog, self._queue_size)
            if self._closed:
                subscription.offer(None)
            self._subscribers.add(subscription)
            count = len(self._subscribers)
        self._on_subscribers(count)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)
            count = len(self._subscribers)
        self._on_subscribers(count)
