"""`influencer-profiles` (compacted, key = influencer): the latest profile of each updated influencer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streaming.config import KafkaSettings
from streaming.events import SCHEMA_VERSION
from streaming.job.sinks.base import Sink, SinkBatch, iso_time
from streaming.job.sinks.producer import TopicWriter


def probabilities(values: Sequence[float], labels: Sequence[str]) -> dict[str, float]:
    assert len(values) == len(labels), f"{len(values)} probabilities for {len(labels)} labels"
    return {label: float(p) for label, p in zip(labels, values, strict=True)}


def profile_event(row: Any, labels: Sequence[str], batch_id: int) -> dict[str, Any]:
    """One profile row of the state stage -> a profile.schema.json event."""
    return {
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
    }


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
