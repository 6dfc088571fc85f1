"""Shared fixtures: a real Kafka broker, a real local SparkSession, settings that point at them.

- ``kafka_broker`` (session): a single-node KRaft broker on free loopback ports in a temporary data
  dir, started and stopped by the project's own KafkaBroker; ``.bootstrap_servers``, ``.settings``.
- ``scout_settings`` (factory): ScoutSettings aimed at that broker (started only when asked for),
  with per-test topic names (created on the broker) when ``unique=True``.
- ``unique_topics`` (factory): TopicNames unique to the calling test.
- ``spark`` (session): local[2] SparkSession from build_spark_session, shuffle partitions 2.
- ``free_port`` and ``project_overrides``: helpers for tests that build their own settings.

Tests that use the broker or Spark carry ``@pytest.mark.integration``.
"""

from __future__ import annotations

import logging
import re
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from streaming.config import ScoutSettings, TopicNames, load_settings
from tests.spark_cluster import Cluster, running_cluster

ROOT = Path(__file__).resolve().parents[1]

# kafka-python logs each connection at INFO; keep captured test logs readable.
logging.getLogger("kafka").setLevel(logging.WARNING)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_overrides() -> dict[str, Any]:
    """Settings every test shares: project paths made absolute, a small local Spark."""
    return {
        "broker.classpath_file": str(ROOT / "build" / "kafka.classpath"),
        "broker.config_dir": str(ROOT / "deploy" / "kafka"),
        "spark.classpath_file": str(ROOT / "build" / "spark.classpath"),
        "spark.master": "local[2]",
        "spark.shuffle_partitions": 2,
        "spark.driver_memory": "1g",
        "spark.trigger_seconds": 0.5,
    }


@pytest.fixture(name="free_port")
def free_port_fixture() -> Callable[[], int]:
    """``free_port()`` -> a loopback TCP port nobody listens on right now."""
    return free_port


@pytest.fixture(name="project_overrides")
def project_overrides_fixture() -> dict[str, Any]:
    """Dotted overrides every test's settings start from (absolute project paths, small Spark)."""
    return base_overrides()


@dataclass(frozen=True)
class RunningBroker:
    bootstrap_servers: str
    settings: ScoutSettings  # broker and kafka sections of this broker, default topic names
    broker: Any  # streaming.infra.kafka_broker.KafkaBroker


@contextmanager
def running_broker(data_dir: Path) -> Iterator[RunningBroker]:
    """A KRaft broker on free loopback ports with its data in ``data_dir``, stopped on exit."""
    from streaming.infra.kafka_broker import KafkaBroker

    port, controller_port = free_port(), free_port()
    while controller_port == port:
        controller_port = free_port()
    overrides = {
        **base_overrides(),
        "broker.port": port,
        "broker.controller_port": controller_port,
        "broker.data_dir": str(data_dir),
        "broker.heap": "384m",
        "broker.start_timeout_s": 180,  # a busy shared machine can take minutes to start a JVM
        "kafka.bootstrap_servers": f"127.0.0.1:{port}",
    }
    settings = load_settings(None, overrides, environ={})
    broker = KafkaBroker(settings.broker, settings.kafka)
    broker.start()
    try:
        yield RunningBroker(broker.bootstrap_servers, settings, broker)
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBroker]:
    with running_broker(tmp_path_factory.mktemp("kafka")) as running:
        yield running


def _topic_prefix(request: pytest.FixtureRequest) -> str:
    name = re.sub(r"[^a-zA-Z0-9_-]+", "-", request.node.name).strip("-")[:60]
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def unique_topics(request: pytest.FixtureRequest) -> Callable[[], TopicNames]:
    """``unique_topics()`` -> TopicNames whose every name is unique to this test (not created)."""

    def make() -> TopicNames:
        prefix = _topic_prefix(request)
        defaults = TopicNames()
        names = {field: f"{prefix}.{getattr(defaults, field)}" for field in TopicNames.model_fields}
        return TopicNames(**names)

    return make


@pytest.fixture
def scout_settings(
    request: pytest.FixtureRequest, tmp_path: Path, unique_topics: Callable[[], TopicNames]
) -> Callable[..., ScoutSettings]:
    """``scout_settings(unique=False, broker=True, **dotted_overrides)`` -> ScoutSettings.

    With ``broker=True`` the session broker is started (once) and the settings point at it; with
    ``unique=True`` the topics get names unique to this call and are created on that broker.
    Dotted overrides use ``__`` for dots: ``scout_settings(job__max_hashtags=3)``.
    """

    def make(unique: bool = False, broker: bool = True, **overrides: Any) -> ScoutSettings:
        values: dict[str, Any] = {
            **base_overrides(),
            "spark.checkpoint_dir": str(tmp_path / f"checkpoint-{uuid.uuid4().hex[:6]}"),
            "job.model_dir": str(tmp_path / "model"),
        }
        running: RunningBroker | None = request.getfixturevalue("kafka_broker") if broker else None
        if running is not None:
            values.update(
                {
                    f"broker.{key}": str(value) if isinstance(value, Path) else value
                    for key, value in running.settings.broker.model_dump().items()
                }
            )
            values["kafka.bootstrap_servers"] = running.bootstrap_servers
        if unique:
            values.update({f"kafka.topics.{k}": v for k, v in unique_topics().model_dump().items()})
        values.update({key.replace("__", "."): value for key, value in overrides.items()})
        settings = load_settings(None, values, environ={})
        if running is not None and unique:
            from streaming.infra import kafka_admin

            kafka_admin.ensure_topics(
                settings.kafka.bootstrap_servers,
                kafka_admin.topic_specs(settings.kafka),
                settings.kafka.client_properties,
            )
        return settings

    return make


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from streaming.infra.spark import build_spark_session

    session = build_spark_session(load_settings(None, base_overrides(), environ={}))
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture(scope="session")
def standalone_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A Spark standalone master and two one-core workers on loopback (tests.spark_cluster)."""
    with running_cluster(tmp_path_factory.mktemp("cluster"), free_port) as cluster:
        yield cluster
