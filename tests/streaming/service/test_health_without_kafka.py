"""Without a reachable broker the service still answers: not ready, degraded, retrying; it stops."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from streaming.config import load_settings


def test_unreachable_kafka_is_degraded_not_ready_and_stops_promptly(free_port: Callable[[], int]) -> None:
    from fastapi.testclient import TestClient

    from streaming.service.app import create_app

    settings = load_settings(
        None,
        {
            "kafka.bootstrap_servers": f"127.0.0.1:{free_port()}",  # nothing listens there
            "service.load_model": False,
        },
        environ={},
    )
    with TestClient(create_app(settings)) as client:
        materialiser = client.app.state.services.materialiser
        assert materialiser.running
        deadline = time.monotonic() + 60
        health: dict[str, Any] = client.get("/health").json()
        while health["status"] != "degraded" and time.monotonic() < deadline:
            time.sleep(0.2)
            health = client.get("/health").json()
        assert health["status"] == "degraded" and not health["kafka_connected"]
        assert health["last_error"]
        assert client.get("/health/ready").status_code == 503
        assert client.get("/api/influencers").json()["total"] == 0  # the API itself answers
        started = time.monotonic()
    assert not materialiser.running
    assert time.monotonic() - started < 15
