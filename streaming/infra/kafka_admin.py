"""Small Kafka client helpers over kafka-python: topics, end offsets, produce, read a whole topic.

Used by the broker launcher, the demo, the tests and other parts that need to look at a topic
from the outside. Security settings come from ``kafka.client_properties`` (Java-style keys such as
``security.protocol``); they are handed to kafka-python unchanged in value, under kafka-python's
spelling of the same key (``security_protocol``).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.producer.future import RecordMetadata

from streaming import limits
from streaming.config import KafkaSettings
from streaming.errors import BrokerError
from streaming.infra.wait import wait_until

log = logging.getLogger(__name__)

# Every topic we create states its record cap (streaming.limits), whatever the broker's default.
SIZED = {"max.message.bytes": str(limits.MESSAGE_MAX_BYTES)}
COMPACTED = {**SIZED, "cleanup.policy": "compact"}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 1
    configs: Mapping[str, str] = field(default_factory=dict)


def topic_specs(kafka: KafkaSettings) -> list[TopicSpec]:
    """The topics of DESIGN.md: `posts` is partitioned; profiles, similar and followers are compacted by key;
    each has max.message.bytes = streaming.limits.MESSAGE_MAX_BYTES."""
    topics = kafka.topics
    return [
        TopicSpec(topics.posts, kafka.posts_partitions, SIZED),
        TopicSpec(topics.dlq, 1, SIZED),
        TopicSpec(topics.profiles, kafka.posts_partitions, COMPACTED),
        TopicSpec(topics.reclassified, 1, SIZED),
        TopicSpec(topics.similar, kafka.posts_partitions, COMPACTED),
        TopicSpec(topics.followers, 1, COMPACTED),
        TopicSpec(topics.undisclosed, 1, SIZED),
    ]


def client_config(client_properties: Mapping[str, str] | None, client_class: type) -> dict[str, str]:
    """kafka-python keyword arguments for the Java-style ``client_properties`` this client knows.

    Keys kafka-python has no equivalent for (e.g. ``ssl.truststore.location``) only reach the JVM
    clients of Spark; they are logged and left out here.
    """
    known = client_class.DEFAULT_CONFIG  # type: ignore[attr-defined]
    config: dict[str, str] = {}
    for key, value in (client_properties or {}).items():
        python_key = key.replace(".", "_")
        if python_key in known:
            config[python_key] = value
        else:
            log.debug("client property %s has no kafka-python equivalent; left to JVM clients", key)
    return config


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _host_port(bootstrap: str) -> tuple[str, int]:
    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    return host.strip("[]"), int(port)


@contextmanager
def admin_client(
    bootstrap: str, client_properties: Mapping[str, str] | None = None, timeout_s: float = 10.0
) -> Iterator[KafkaAdminClient]:
    try:
        client = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            request_timeout_ms=int(timeout_s * 1000),
            **client_config(client_properties, KafkaAdminClient),
        )
    except KafkaError as exc:
        raise BrokerError(
            f"cannot reach Kafka at {bootstrap} ({exc}); is it running? `scout kafka status`"
        ) from exc
    try:
        yield client
    finally:
        client.close()


def wait_until_answers(
    bootstrap: str,
    timeout_s: float,
    client_properties: Mapping[str, str] | None = None,
    still_starting: Callable[[], bool] = lambda: True,
) -> float:
    """Block until the broker lists its topics; returns the seconds waited.

    ``still_starting`` is polled too: when it turns False (the process died) waiting stops early.
    """
    start = time.monotonic()
    host, port = _host_port(bootstrap)

    def answers() -> bool:
        # A plain TCP probe first keeps kafka-python from logging every refused connection.
        if not port_open(host, port):
            return False
        try:
            with admin_client(bootstrap, client_properties, timeout_s=5.0) as admin:
                admin.list_topics()
                return True
        except (BrokerError, KafkaError) as exc:
            log.debug("broker not ready yet: %s", exc)
            return False

    wait_until(
        answers,
        timeout_s=timeout_s,
        alive=still_starting,
        stopped=lambda: BrokerError(f"the broker at {bootstrap} stopped while starting"),
        timed_out=lambda: BrokerError(f"Kafka at {bootstrap} did not answer within {timeout_s:.0f}s"),
    )
    return time.monotonic() - start


def ensure_topics(
    bootstrap: str, specs: Iterable[TopicSpec], client_properties: Mapping[str, str] | None = None
) -> list[str]:
    """Create the missing topics (single replica); returns the names created now."""
    specs = list(specs)
    with admin_client(bootstrap, client_properties) as admin:
        existing = set(admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if not missing:
            return []
        new_topics = [
            NewTopic(spec.name, spec.partitions, 1, topic_configs=dict(spec.configs)) for spec in missing
        ]
        try:
            admin.create_topics(new_topics, timeout_ms=30_000, wait_for_metadata=True)
        except TopicAlreadyExistsError:
            log.info("topics appeared concurrently: %s", [spec.name for spec in missing])
        except KafkaError as exc:
            raise BrokerError(f"creating topics {[s.name for s in missing]} failed: {exc}") from exc
    created = [spec.name for spec in missing]
    log.info("created topics %s", created)
    return created


def topic_configs(
    bootstrap: str, topic: str, client_properties: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The topic's configuration as the broker reports it (defaults included)."""
    resource = ConfigResource(ConfigResourceType.TOPIC, topic)
    with admin_client(bootstrap, client_properties) as admin:
        try:
            described = admin.describe_configs([resource], config_filter="all")
        except KafkaError as exc:
            raise BrokerError(f"describing topic {topic!r} failed: {exc}") from exc
    entries = described.get("topic", {}).get(topic, {})
    return {key: entry["value"] for key, entry in entries.items()}


def _consumer(bootstrap: str, client_properties: Mapping[str, str] | None) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
        **client_config(client_properties, KafkaConsumer),
    )


def _partitions(consumer: KafkaConsumer, topic: str, timeout_s: float) -> list[TopicPartition]:
    partitions = wait_until(
        lambda: consumer.partitions_for_topic(topic),
        timeout_s=timeout_s,
        timed_out=lambda: BrokerError(f"topic {topic!r} does not exist (create it with `scout kafka start`)"),
    )
    return [TopicPartition(topic, p) for p in sorted(partitions)]


def end_offsets(
    bootstrap: str,
    topic: str,
    client_properties: Mapping[str, str] | None = None,
    timeout_s: float = 10.0,
) -> dict[int, int]:
    """Partition -> offset of the next record to be written (the high watermark)."""
    consumer = _consumer(bootstrap, client_properties)
    try:
        ends = consumer.end_offsets(_partitions(consumer, topic, timeout_s))
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        consumer.close()


def read_topic(
    bootstrap: str,
    topic: str,
    timeout_s: float = 30.0,
    client_properties: Mapping[str, str] | None = None,
) -> list[ConsumerRecord]:
    """Every record now in ``topic`` (from the beginning up to the end offsets seen at the call).

    Records come partition by partition in offset order. Raises BrokerError when they cannot all
    be read within ``timeout_s``.
    """
    consumer = _consumer(bootstrap, client_properties)
    try:
        partitions = _partitions(consumer, topic, timeout_s)
        ends = consumer.end_offsets(partitions)
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        records: dict[int, list[ConsumerRecord]] = {tp.partition: [] for tp in partitions}
        deadline = time.monotonic() + timeout_s
        pending = {tp for tp in partitions if consumer.position(tp) < ends[tp]}
        while pending:
            if time.monotonic() > deadline:
                unfinished = sorted(tp.partition for tp in pending)
                raise BrokerError(
                    f"reading {topic!r} timed out after {timeout_s:.0f}s with "
                    f"{sum(map(len, records.values()))} records read; partitions {unfinished} unfinished"
                )
            for tp, batch in consumer.poll(timeout_ms=500).items():
                records[tp.partition].extend(r for r in batch if r.offset < ends[tp])
            pending = {tp for tp in pending if consumer.position(tp) < ends[tp]}
        return [record for p in sorted(records) for record in records[p]]
    finally:
        consumer.close()


def kafka_producer(
    bootstrap: str,
    client_properties: Mapping[str, str] | None = None,
    *,
    linger_ms: int = 5,
    batch_bytes: int | None = None,
    max_block_ms: int | None = None,
) -> KafkaProducer:
    """A producer that knows the broker's limits: acks=all, requests up to
    streaming.limits.PRODUCER_MAX_REQUEST_BYTES (every topic's cap), the client properties;
    BrokerError (with what to do) when no broker answers at ``bootstrap``.

    ``linger_ms`` and ``batch_bytes`` trade latency for fewer requests; ``max_block_ms`` bounds how
    long a send waits for metadata (kafka-python's default when None).
    """
    tuning: dict[str, int] = {"linger_ms": linger_ms}
    if batch_bytes is not None:
        tuning["batch_size"] = batch_bytes
    if max_block_ms is not None:
        tuning["max_block_ms"] = max_block_ms
    try:
        return KafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            max_request_size=limits.PRODUCER_MAX_REQUEST_BYTES,
            **tuning,
            **client_config(client_properties, KafkaProducer),
        )
    except KafkaError as exc:
        raise BrokerError(
            f"cannot reach Kafka at {bootstrap} ({exc}); start it with `scout kafka start` or point "
            "kafka.bootstrap_servers at a running broker"
        ) from exc


def produce(
    bootstrap: str,
    topic: str,
    records: Iterable[tuple[bytes | None, bytes | None]],
    client_properties: Mapping[str, str] | None = None,
) -> list[RecordMetadata]:
    """Send (key, value) records, wait until all are acknowledged; their partitions and offsets."""
    producer = kafka_producer(bootstrap, client_properties)
    futures = []
    try:
        for key, value in records:
            futures.append(producer.send(topic, key=key, value=value))
        producer.flush()
        return [future.get(timeout=30) for future in futures]
    except KafkaError as exc:
        raise BrokerError(
            f"producing to {topic!r} at {bootstrap} failed ({len(futures)} records sent): {exc}"
        ) from exc
    finally:
        producer.close()
