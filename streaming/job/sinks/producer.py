"""A JSON-valued Kafka topic writer shared by the Kafka sinks (kafka-python, from the driver)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from streaming.config import KafkaSettings
from streaming.errors import BrokerError
from streaming.infra.kafka_admin import client_config

log = logging.getLogger(__name__)


class TopicWriter:
    """Keyed JSON records to one topic; ``flush`` waits for every acknowledgement (acks=all)."""

    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        self.topic = topic
        self._bootstrap = kafka.bootstrap_servers
        try:
            self._producer = KafkaProducer(
                bootstrap_servers=kafka.bootstrap_servers,
                acks="all",
                linger_ms=5,
                max_request_size=10 * 1024 * 1024,
                **client_config(kafka.client_properties, KafkaProducer),
            )
        except KafkaError as exc:
            where = kafka.bootstrap_servers
            raise BrokerError(f"cannot reach Kafka at {where} to write {topic!r}: {exc}") from exc
        self._pending: list[Any] = []

    def send(self, key: str | bytes | None, value: Mapping[str, Any] | bytes) -> None:
        key_bytes = key.encode("utf-8") if isinstance(key, str) else key
        body = value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode("utf-8")
        self._pending.append(self._producer.send(self.topic, key=key_bytes, value=body))

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
