"""GET /api/feed: reclassifications as server-sent events (``event: reclassified``, JSON data).

Each event's ``id`` is its sequence number: a reconnecting EventSource sends it back as
``Last-Event-ID`` and receives what it missed from the recent backlog. A fresh stream starts with
the backlog unless ``backlog=false``. ``max_events`` closes the stream after that many events
(scripts, tests); without it the stream stays open, with a comment line every 15 seconds.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Header, Query
from sse_starlette import EventSourceResponse, ServerSentEvent

from streaming.service.deps import FeedDep
from streaming.service.live import ReclassificationFeed
from streaming.service.problems import responses

router = APIRouter(prefix="/api", tags=["feed"])

PING_S = 15


async def _events(
    feed: ReclassificationFeed, after: int | None, max_events: int | None
) -> AsyncIterator[ServerSentEvent]:
    subscription = feed.subscribe(after)
    sent = 0
    try:
        async for event in subscription.events():
            yield ServerSentEvent(json.dumps(event.data), event="reclassified", id=str(event.seq))
            sent += 1
            if max_events is not None and sent >= max_events:
                return
    finally:
        subscription.close()


@router.get("/feed", response_class=EventSourceResponse, responses=responses(422))
async def reclassifications(
    feed: FeedDep,
    backlog: bool = Query(True, description="start with the recent reclassifications"),
    max_events: int | None = Query(None, ge=1, le=10_000),
    last_event_id: str | None = Header(None),
) -> EventSourceResponse:
    """Live reclassifications (category changes) as they arrive on influencer-reclassified."""
    after: int | None = 0 if backlog else None
    if last_event_id is not None and last_event_id.isdigit():
        after = int(last_event_id)
    return EventSourceResponse(_events(feed, after, max_events), ping=PING_S)
