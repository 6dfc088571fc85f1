"""ClientBuckets (a token bucket per client, pure) and the body limit through the app: 413 past it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from streaming.config import ScoutSettings
from streaming.service.limits import ClientBuckets, retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_the_burst_then_refills_at_the_rate() -> None:
    clock = Clock()
    buckets = ClientBuckets(rate_per_s=2.0, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)  # one token takes 1/rate seconds
    assert buckets.take("b") == 0.0  # another client has its own bucket
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") == pytest.approx(0.5)
    clock.now += 60  # refills up to the burst, never past it
    assert [buckets.take("a") for _ in range(4)][-1] == pytest.approx(0.5)
    assert retry_after(0.5) == "1" and retry_after(2.01) == "3"


def test_only_the_most_recently_seen_clients_are_kept() -> None:
    clock = Clock()
    buckets = ClientBuckets(rate_per_s=0.001, burst=1, max_clients=2, clock=clock)
    for client in ("a", "b", "c"):
        assert buckets.take(client) == 0.0
    assert len(buckets) == 2
    assert buckets.take("c") > 0  # still remembered: empty
    assert buckets.take("a") == 0.0  # forgotten: a full bucket again


@pytest.fixture
def small_body_client(api_settings: ScoutSettings, filled_store: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from streaming.service.app import create_app

    service = api_settings.service.model_copy(update={"max_body_bytes": 1000})
    with TestClient(
        create_app(api_settings.model_copy(update={"service": service}), store=filled_store)
    ) as client:
        yield client


def test_a_body_past_max_body_bytes_is_413_before_it_is_read(small_body_client: Any) -> None:
    big = {"posts": [{"caption": "x" * 2000}]}
    response = small_body_client.post("/api/similar", json=big)
    assert response.status_code == 413
    assert response.json() == {
        "detail": "the request body is larger than 1000 bytes (service.max_body_bytes)"
    }

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"posts": [{"caption": "'
        for _ in range(20):
            yield b"x" * 100
        yield b'"}]}'

    chunked = small_body_client.post(
        "/api/similar", content=chunks(), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413 and "service.max_body_bytes" in chunked.json()["detail"]
    small = small_body_client.post("/api/similar", json={"posts": [{"caption": "x" * 100}]})
    assert small.status_code == 503  # within the limit: on to the route (no model in these settings)
