"""ReclassificationFeed: backlog then live, from another thread, no duplicates, slow clients lose oldest."""

from __future__ import annotations

import asyncio
import threading

from streaming.service.live import ReclassificationFeed


async def take(iterator, n: int, timeout_s: float = 5.0) -> list[int]:
    async def collect() -> list[int]:
        return [(await anext(iterator)).seq for _ in range(n)]

    return await asyncio.wait_for(collect(), timeout_s)


def test_backlog_then_live_events_published_from_another_thread() -> None:
    feed = ReclassificationFeed(backlog=3)
    for i in range(5):
        feed.publish({"i": i})
    assert [e.seq for e in feed.recent()] == [3, 4, 5]
    assert [e.seq for e in feed.recent(after=4)] == [5]

    async def scenario() -> tuple[list[int], list[int], list[int]]:
        everything = feed.subscribe(after=0)
        resumed = feed.subscribe(after=4)
        live_only = feed.subscribe(after=None)
        publisher = threading.Thread(target=lambda: [feed.publish({"i": i}) for i in range(5, 7)])
        publisher.start()
        got = (
            await take(everything.events(), 5),
            await take(resumed.events(), 3),
            await take(live_only.events(), 2),
        )
        publisher.join()
        for subscription in (everything, resumed, live_only):
            subscription.close()
        return got

    everything, resumed, live_only = asyncio.run(scenario())
    assert everything == [3, 4, 5, 6, 7]
    assert resumed == [5, 6, 7]
    assert live_only == [6, 7]


def test_slow_subscriber_drops_oldest_and_counts() -> None:
    dropped: list[int] = []
    subscribers: list[int] = []
    feed = ReclassificationFeed(
        backlog=10, queue_size=2, on_drop=lambda: dropped.append(1), on_subscribers=subscribers.append
    )

    async def scenario() -> list[int]:
        subscription = feed.subscribe(after=None)
        for i in range(5):
            feed.publish({"i": i})
        await asyncio.sleep(0.05)  # let the loop run the hand-offs
        got = await take(subscription.events(), 2)
        subscription.close()
        return got

    assert asyncio.run(scenario()) == [4, 5]
    assert len(dropped) == 3
    assert subscribers == [1, 0]


def test_close_ends_open_streams_and_later_ones_after_their_backlog() -> None:
    feed = ReclassificationFeed(backlog=5)
    feed.publish({"i": 0})

    async def drain(subscription) -> list[int]:
        return [event.seq async for event in subscription.events()]

    async def scenario() -> tuple[list[int], list[int]]:
        live = feed.subscribe(after=0)
        closer = threading.Timer(0.05, feed.close)
        closer.start()
        before = await asyncio.wait_for(drain(live), 5)
        after = await asyncio.wait_for(drain(feed.subscribe(after=0)), 5)
        closer.join()
        return before, after

    assert asyncio.run(scenario()) == ([1], [1])
