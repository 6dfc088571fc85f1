"""A JSON-valued Kafka topic writer shared by the Kafka sinks (kafka-python, from the driver).

Its producer comes from streaming.infra.kafka_admin.kafka_producer: requests up to
streaming.limits.PRODUCER_MAX_REQUEST_BYTES, the same as every topic's cap; the
writers bound what they send (dead letters by construction), and a record over it is a BrokerError
that names the topic, the size and the limit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from kafka.errors import KafkaError

from streaming import limits
from streaming.config import KafkaSettings
from streaming.errors import BrokerError
from streaming.infra.kafka_admin import kafka_producer

log = logging.getLogger(__name__)

WRITER_LINGER_MS = 1000
WRITER_BATCH_BYTES = 1024 * 1024


class TopicWriter:
    """Keyed JSON records to one topic; ``flush`` waits for every acknowledgement (acks=all)."""

    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        self.topic = topic
        self._bootstrap = kafka.bootstrap_servers
        # A micro-batch's records go out together at ``flush`` (which does not wait for the linger):
        # large batches and a long linger mean one request per partition, not one wake-up of the
        # sender thread per handful of records (~1 ms each, measured).
        self._producer = kafka_producer(
            kafka.bootstrap_servers,
            kafka.client_properties,
            linger_ms=WRITER_LINGER_MS,
            batch_bytes=WRITER_BATCH_BYTES,
        )
        self._pending: list[Any] = []

    def send(self, key: str | bytes | None, value: Mapping[str, Any] | bytes) -> None:
        key_bytes = key.encode("utf-8") if isinstance(key, str) else key
        body = value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode("utf-8")
        try:
            self._pending.append(self._producer.send(self.topic, key=key_bytes, value=body))
        except KafkaError as exc:  # e.g. MessageSizeTooLargeError, raised before anything is sent
            size = len(body) + len(key_bytes or b"")
            raise BrokerError(
                f"cannot write a record of {size} bytes to {self.topic!r} "
                f"(producer limit {limits.PRODUCER_MAX_REQUEST_BYTES}): {exc}"
            ) from exc

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        self._producer.flush()
        try:
            for future in pending:
                future.get(timeout=60)
        except KafkaError as exc:
            raise BrokerError(
                f"writing {len(pending)} records to {self.topic!r} at {self._bootstrap} failed: {exc}"
            ) from exc

    def close(self) -> None:
        self._producer.close()
