"""`posts.dlq`: every record that parse or embed rejected, with why, where from and its original bytes.

Each dead letter is bounded whatever was read (streaming.limits): a huge value or key is kept as a
prefix with its length and sha256, and the source position names the record to read again.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from streaming.config import KafkaSettings
from streaming.events.post_event import dead_letter_key, dead_letter_record
from streaming.job.sinks.base import Sink, SinkBatch
from streaming.job.sinks.producer import TopicWriter


def _present(value: Any) -> Any:
    return None if value is None or (not isinstance(value, bytes | str) and pd.isna(value)) else value


def dead_letter_event(row: Any) -> dict[str, Any]:
    """A dead-letter row of the state stage -> a dead_letter.schema.json record."""
    stamp = _present(row.source_timestamp)  # naive from Spark: UTC (streaming.events.utc_timestamp)
    return dead_letter_record(
        stage=row.dlq_stage or "parse",
        reason=row.dlq_reason,
        detail=row.dlq_detail or "",
        source_topic=row.source_topic,
        source_partition=int(row.source_partition),
        source_offset=int(row.source_offset),
        source_timestamp=None if stamp is None else pd.Timestamp(stamp),
        original=_present(row.value),
        key=_present(row.key),
    )


class DeadLetterSink(Sink):
    name = "dead_letters"

    def __init__(self, kafka: KafkaSettings) -> None:
        self._out = TopicWriter(kafka, kafka.topics.dlq)

    def write(self, batch: SinkBatch) -> int:
        for row in batch.dead_letters.itertuples(index=False):
            self._out.send(dead_letter_key(_present(row.key)), dead_letter_event(row))
        return len(batch.dead_letters)

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        self._out.close()
