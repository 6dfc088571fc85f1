"""The project's own broker launcher against a real Kafka: start, status, topics, restart, stop."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streaming.cli import app
from streaming.config import load_settings
from streaming.errors import BrokerError
from streaming.infra import kafka_admin
from streaming.infra.kafka_broker import KafkaBroker

pytestmark = pytest.mark.integration

DESIGN_TOPICS = {"posts", "posts.dlq", "influencer-profiles", "influencer-reclassified", "influencer-similar"}


@pytest.fixture
def new_broker(tmp_path: Path, free_port, project_overrides) -> Callable[..., KafkaBroker]:
    """``new_broker(**dotted_overrides)`` -> a KafkaBroker of its own (not started) on free ports."""

    def make(**extra: object) -> KafkaBroker:
        overrides = {
            **project_overrides,
            "broker.port": free_port(),
            "broker.controller_port": free_port(),
            "broker.data_dir": str(tmp_path / "kafka"),
            "broker.heap": "256m",
            "broker.start_timeout_s": 180,
            **extra,
        }
        settings = load_settings(None, overrides, environ={})
        return KafkaBroker(settings.broker, settings.kafka)

    return make


def test_session_broker_has_the_design_topics(kafka_broker):
    status = kafka_broker.broker.status()
    assert status.running and status.answering
    assert status.pid is not None and status.log_file.is_file()
    assert DESIGN_TOPICS <= set(status.topics)
    posts_partitions = kafka_broker.settings.kafka.posts_partitions
    assert len(kafka_admin.end_offsets(kafka_broker.bootstrap_servers, "posts")) == posts_partitions
    policies = {
        name: kafka_admin.topic_configs(kafka_broker.bootstrap_servers, name)["cleanup.policy"]
        for name in ("influencer-profiles", "influencer-similar", "posts")
    }
    assert policies == {"influencer-profiles": "compact", "influencer-similar": "compact", "posts": "delete"}


def test_produce_then_read_back_in_partition_order(scout_settings):
    settings = scout_settings(unique=True)
    bootstrap, topic = settings.kafka.bootstrap_servers, settings.kafka.topics.posts
    records = [(f"user{i % 3}".encode(), f"value-{i}".encode()) for i in range(30)]
    sent = kafka_admin.produce(bootstrap, topic, records)
    assert len(sent) == 30 and len({(m.partition, m.offset) for m in sent}) == 30
    assert sum(kafka_admin.end_offsets(bootstrap, topic).values()) == 30
    read = kafka_admin.read_topic(bootstrap, topic, timeout_s=20)
    assert sorted(r.value for r in read) == sorted(v for _, v in records)
    for user in (b"user0", b"user1", b"user2"):  # one key stays in one partition, in order
        mine = [r for r in read if r.key == user]
        assert len({r.partition for r in mine}) == 1
        assert [r.value for r in mine] == [v for k, v in records if k == user]


def test_start_is_idempotent_restart_keeps_data_and_stop_frees_the_port(new_broker):
    broker = new_broker()
    try:
        started = time.monotonic()
        first = broker.start()
        cold_s = time.monotonic() - started
        assert first.running and DESIGN_TOPICS <= set(first.topics)
        assert broker.start().pid == first.pid  # already running: same process
        kafka_admin.produce(broker.bootstrap_servers, "posts.dlq", [(b"k", b"kept")])
        cluster_id = (broker.log_dir / "meta.properties").read_text()

        assert broker.stop() is True
        assert not broker.status().running and not broker.pid_file.exists()
        assert not kafka_admin.port_open("127.0.0.1", broker.settings.port)
        assert broker.stop() is False

        started = time.monotonic()
        second = broker.start()
        warm_s = time.monotonic() - started
        assert second.pid != first.pid
        assert (broker.log_dir / "meta.properties").read_text() == cluster_id  # formatted once
        assert [r.value for r in kafka_admin.read_topic(broker.bootstrap_servers, "posts.dlq")] == [b"kept"]
        print(f"broker start: cold {cold_s:.1f}s, warm {warm_s:.1f}s")  # noqa: T201 - shown with -s
    finally:
        broker.stop()


def test_busy_port_is_refused_with_a_hint(new_broker):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        broker = new_broker(**{"broker.port": blocker.getsockname()[1]})
        with pytest.raises(BrokerError, match=r"already in use.*--set broker.port="):
            broker.start()
    assert not broker.pid_file.exists()


def test_a_cluster_id_beginning_with_a_dash_formats_and_starts(new_broker, monkeypatch):
    # One random id in 64 begins with "-"; the storage tool must not read it as an option.
    from streaming.infra import kafka_broker

    monkeypatch.setattr(kafka_broker, "_cluster_id", lambda: "-" + "A" * 21)
    broker = new_broker()
    broker.start()
    try:
        assert broker.status().answering
    finally:
        broker.stop()


def test_missing_jars_point_at_make_setup(new_broker, tmp_path):
    broker = new_broker(**{"broker.classpath_file": str(tmp_path / "nothing.classpath")})
    with pytest.raises(BrokerError, match="make setup"):
        broker.start()


def test_cli_status_prints_pid_ports_and_log_file(kafka_broker):
    sets = []
    for key, value in kafka_broker.settings.broker.model_dump().items():
        sets += ["--set", f"broker.{key}={value}"]
    result = CliRunner().invoke(app, [*sets, "kafka", "status"])
    assert result.exit_code == 0, result.output
    status = kafka_broker.broker.status()
    assert f"pid:         {status.pid}" in result.output
    assert f"bootstrap:   {kafka_broker.bootstrap_servers}" in result.output
    assert str(status.log_file) in result.output
    assert "posts.dlq" in result.output
