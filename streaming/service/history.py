"""Each influencer's category over time, kept bounded in the service (pure: no Kafka, no HTTP).

Two sources, both already read by the materialiser: every profile event is a point (when it was
processed, the post count, the category and every probability: so the probability of whatever
category is current *now* can be drawn as the posts arrived), and every reclassification event a
change (from, to, at which post count). Each influencer keeps its latest ``limit`` points and
changes; a replayed batch (same batch id as the last point) replaces its point instead of adding.
The compacted profiles topic keeps only the latest profile of a key once compacted, so after a
restart the points start again from there; the reclassifications are read from the topic's start.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Point:
    time: str  # processing time of the profile update
    event_time: str
    post_count: int
    category: str
    probabilities: Mapping[str, float]
    model_version: str
    batch_id: int


@dataclass(frozen=True, slots=True)
class Change:
    time: str
    previous_category: str
    category: str
    post_count: int
    model_version: str


class HistoryStore:
    def __init__(self, limit: int) -> None:
        assert limit >= 1, f"limit must be >= 1, got {limit}"
        self.limit = limit
        self._points: dict[str, deque[Point]] = {}
        self._changes: dict[str, deque[Change]] = {}
        self._lock = threading.Lock()

    def record_profile(self, event: Mapping[str, Any]) -> None:
        """A profile event (valid against profile.schema.json) as a point of its influencer."""
        point = Point(
            time=event["processing_time"],
            event_time=event["event_time"],
            post_count=int(event["post_count"]),
            category=event["category"],
            probabilities=dict(event["probabilities"]),
            model_version=event["model_version"],
            batch_id=int(event["batch_id"]),
        )
        with self._lock:
            points = self._points.setdefault(event["influencer"], deque(maxlen=self.limit))
            if points and (points[-1].batch_id, points[-1].model_version) == (
                point.batch_id,
                point.model_version,
            ):
                points.pop()  # the same batch written again (sinks are at-least-once)
            points.append(point)

    def record_change(self, event: Mapping[str, Any]) -> None:
        """A reclassification event (valid against reclassified.schema.json)."""
        change = Change(
            time=event["processing_time"],
            previous_category=event["previous_category"],
            category=event["category"],
            post_count=int(event["post_count"]),
            model_version=event["model_version"],
        )
        with self._lock:
            self._changes.setdefault(event["influencer"], deque(maxlen=self.limit)).append(change)

    def forget(self, influencer: str) -> None:
        with self._lock:
            self._points.pop(influencer, None)
            self._changes.pop(influencer, None)

    def of(self, influencer: str, model_version: str) -> tuple[list[Point], list[Change]]:
        """The influencer's points and changes under ``model_version``, oldest first."""
        with self._lock:
            points = [p for p in self._points.get(influencer, ()) if p.model_version == model_version]
            changes = [c for c in self._changes.get(influencer, ()) if c.model_version == model_version]
        return points, changes
