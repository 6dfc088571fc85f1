"""`influencer-profiles` (compacted, key = influencer): the latest profile of each updated influencer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from streaming.config import KafkaSettings
from streaming.events import SCHEMA_VERSION
from streaming.job.sinks.base import Sink, SinkBatch, iso_time
from streaming.job.sinks.producer import TopicWriter
from streaming.state.engagement import Engagement
from streaming.state.sponsorship import Sponsorship


def probabilities(values: Sequence[float], labels: Sequence[str]) -> dict[str, float]:
    assert len(values) == len(labels), f"{len(values)} probabilities for {len(labels)} labels"
    return {label: float(p) for label, p in zip(labels, values, strict=True)}


def float32_list(values: Sequence[float]) -> list[float]:
    """A vector as JSON numbers of float32 precision (7 significant digits: a quarter of the text)."""
    return [float(f"{x:.7g}") for x in values]


def engagement_of(figures: Engagement) -> dict[str, Any]:
    return {
        "likes_mean": figures.likes_mean,
        "comments_mean": figures.comments_mean,
        "posts_per_week": figures.posts_per_week,
        "first_post": when(figures.first_post_s),
        "last_post": when(figures.last_post_s),
    }


def when(seconds: float) -> str | None:
    return iso_time(datetime.fromtimestamp(seconds, UTC))


def sponsorship_of(figures: Sponsorship) -> dict[str, Any]:
    return {
        "disclosed_posts": figures.disclosed_posts,
        "disclosed_share": figures.disclosed_share,
        "estimated_undisclosed": figures.estimated_undisclosed,
        "estimated_undisclosed_share": figures.estimated_undisclosed_share,
        "sponsored_share": figures.sponsored_share,
        "flagged_posts": figures.flagged_posts,
        "threshold": figures.threshold,
        "brands": [{"brand": b, "posts": posts, "disclosed": shown} for b, posts, shown in figures.brands],
        "likely_undisclosed": [
            {
                "post_id": p.post_id,
                "probability": p.probability,
                "ts": when(p.ts_seconds),
                "brands": list(p.brands),
            }
            for p in figures.likely
        ],
    }


def profile_event(row: Any, labels: Sequence[str], batch_id: int) -> dict[str, Any]:
    """One profile row of the state stage -> a profile.schema.json event."""
    event = {
        "schema": SCHEMA_VERSION,
        "influencer": row.influencer,
        "category": row.category,
        "probabilities": probabilities(row.probabilities, labels),
        "embedding": [float(x) for x in row.embedding],
        "post_count": int(row.post_count),
        "top_posts": list(row.top_posts),
        "model_version": row.model_version,
        "event_time": iso_time(row.event_time),
        "processing_time": iso_time(row.processing_time),
        "batch_id": int(batch_id),
        "engagement": engagement_of(row.engagement),
        "sponsorship": sponsorship_of(row.sponsorship),
    }
    if len(row.text_vector):
        event["text_vector"] = float32_list(row.text_vector)
    return event


class ProfilesSink(Sink):
    name = "profiles"

    def __init__(self, kafka: KafkaSettings, labels: Sequence[str]) -> None:
        self.labels = tuple(labels)
        self._out = TopicWriter(kafka, kafka.topics.profiles)

    def write(self, batch: SinkBatch) -> int:
        for row in batch.profiles.itertuples(index=False):
            self._out.send(row.influencer, profile_event(row, self.labels, batch.batch_id))
        return len(batch.profiles)

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        self._out.close()
