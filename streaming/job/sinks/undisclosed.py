"""`influencer-undisclosed` (key = influencer): each undisclosed post the sponsored head scores at or
over ``sponsorship.undisclosed_threshold``, with its evidence (the probability, the brands it names)."""

from __future__ import annotations

from typing import Any

from streaming.config import KafkaSettings
from streaming.events import SCHEMA_VERSION
from streaming.job.sinks.base import Sink, SinkBatch, iso_time
from streaming.job.sinks.producer import TopicWriter


def undisclosed_event(row: Any, batch_id: int) -> dict[str, Any]:
    """A flagged post of the state stage (UNDISCLOSED_COLUMNS) -> an undisclosed.schema.json event."""
    return {
        "schema": SCHEMA_VERSION,
        "influencer": row.influencer,
        "post_id": str(row.post_id),
        "probability": float(row.probability),
        "threshold": float(row.threshold),
        "brands": [str(b) for b in row.brands],
        "model_version": row.model_version,
        "event_time": iso_time(row.event_time),
        "processing_time": iso_time(row.processing_time),
        "batch_id": int(batch_id),
    }


class UndisclosedSink(Sink):
    name = "undisclosed"

    def __init__(self, kafka: KafkaSettings) -> None:
        self._out = TopicWriter(kafka, kafka.topics.undisclosed)

    def write(self, batch: SinkBatch) -> int:
        for row in batch.undisclosed.itertuples(index=False):
            self._out.send(row.influencer, undisclosed_event(row, batch.batch_id))
        return len(batch.undisclosed)

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        self._out.close()
