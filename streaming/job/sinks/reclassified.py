"""`influencer-reclassified` (key = influencer): only when an influencer's top category changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streaming.config import KafkaSettings
from streaming.events import SCHEMA_VERSION
from streaming.job.sinks.base import Sink, SinkBatch, iso_time
from streaming.job.sinks.producer import TopicWriter
from streaming.job.sinks.profiles import probabilities


def reclassified_event(row: Any, labels: Sequence[str], batch_id: int) -> dict[str, Any]:
    """A profile row whose category changed -> a reclassified.schema.json event."""
    return {
        "schema": SCHEMA_VERSION,
        "influencer": row.influencer,
        "previous_category": row.previous_category,
        "category": row.category,
        "probabilities": probabilities(row.probabilities, labels),
        "post_count": int(row.post_count),
        "trigger_posts": [str(p) for p in row.trigger_posts],
        "model_version": row.model_version,
        "event_time": iso_time(row.event_time),
        "processing_time": iso_time(row.processing_time),
        "batch_id": int(batch_id),
    }


class ReclassifiedSink(Sink):
    name = "reclassified"

    def __init__(self, kafka: KafkaSettings, labels: Sequence[str]) -> None:
        self.labels = tuple(labels)
        self._out = TopicWriter(kafka, kafka.topics.reclassified)

    def write(self, batch: SinkBatch) -> int:
        changed = batch.reclassified
        for row in changed.itertuples(index=False):
            self._out.send(row.influencer, reclassified_event(row, self.labels, batch.batch_id))
        return len(changed)

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        self._out.close()
