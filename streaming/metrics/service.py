"""Metrics of the look-up service, and the ASGI middleware that times its requests.

Request latency is measured to the first byte of the response (``http.response.start``), so a
server-sent-event stream counts the time to open it, not the hours it stays open. Requests are
labelled by route template (``/api/influencers/{name}``), never by the concrete path.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
UNMATCHED_ROUTE = "unmatched"
STREAMS = ("profiles", "followers", "reclassified")


class ServiceMetrics:
    """The service's metrics in their own registry (one per app, so tests can build many)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.request_duration = Histogram(
            "scout_service_request_duration_seconds",
            "Time to the first response byte, by route",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.profiles = Gauge("scout_service_profiles", "Influencer profiles materialised", registry=r)
        self.profile_events = Counter(
            "scout_service_profile_events", "Profile events applied to the store", registry=r
        )
        self.rejected_events = Counter(
            "scout_service_rejected_events",
            "Events that failed parsing or the schema, not applied",
            ["stream", "reason"],
            registry=r,
        )
        self.index_vectors = Gauge(
            "scout_service_index_vectors", "Vectors in the service's similarity indexes", registry=r
        )
        self.consumer_lag = Gauge(
            "scout_service_consumer_lag_records",
            "Records the materialiser has not read yet",
            ["stream"],
            registry=r,
        )
        self.caught_up = Gauge(
            "scout_service_caught_up", "1 once the profiles topic was read up to its end", registry=r
        )
        self.reclassifications = Counter(
            "scout_service_reclassifications", "Reclassification events received for the feed", registry=r
        )
        self.feed_clients = Gauge("scout_service_feed_clients", "Open live-feed streams", registry=r)
        self.feed_dropped = Counter(
            "scout_service_feed_dropped_events",
            "Feed events dropped for clients too slow to read",
            registry=r,
        )
        for stream in STREAMS:
            self.consumer_lag.labels(stream).set(0)


def route_template(scope: Scope) -> str:
    """The matched route's path template, or ``unmatched`` (never the raw path: it is unbounded)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class RequestTimer:
    """Pure ASGI middleware observing ``scout_service_request_duration_seconds``."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        observed = False

        def observe(status: Any) -> None:
            nonlocal observed
            if not observed:
                observed = True
                self.metrics.request_duration.labels(
                    scope["method"], route_template(scope), str(status)
                ).observe(time.perf_counter() - start)

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                observe(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        except Exception:
            observe(500)
            raise
