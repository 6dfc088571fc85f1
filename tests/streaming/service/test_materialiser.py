"""The materialiser against the real broker: catch up on the compacted topic, then follow it live."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from streaming.infra.kafka_admin import produce
from tests.streaming.service.profiles import T0, iso, profile_event

pytestmark = pytest.mark.integration


def wait_for(condition: Callable[[], Any], timeout_s: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def reclassified(name: str, previous: str, category: str, batch_id: int) -> dict[str, Any]:
    return {
        "schema": 1,
        "influencer": name,
        "previous_category": previous,
        "category": category,
        "probabilities": {category: 0.7, previous: 0.3},
        "post_count": 7,
        "trigger_posts": ["p9"],
        "model_version": "v-test",
        "event_time": iso(T0),
        "processing_time": iso(T0),
        "batch_id": batch_id,
    }


def record(event: dict[str, Any]) -> tuple[bytes, bytes]:
    return event["influencer"].encode(), json.dumps(event).encode()


def sample(client: Any, name: str, labels: str) -> float | None:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(f"{name}{{{labels}}} "):
            return float(line.split()[-1])
    return None


def test_catches_up_then_follows_live(scout_settings: Callable[..., Any]) -> None:
    from fastapi.testclient import TestClient

    from streaming.service.app import create_app

    settings = scout_settings(unique=True, service__load_model=False, service__feed_backlog=2)
    bootstrap, topics = settings.kafka.bootstrap_servers, settings.kafka.topics
    vec = np.eye(4)
    produce(
        bootstrap,
        topics.profiles,
        [
            record(profile_event("ann", "food", vec[0], batch_id=0)),
            record(profile_event("bob", "travel", vec[1], batch_id=0)),
            record(profile_event("cat", "pet", vec[2], batch_id=0)),
            (b"broken", b"{not json"),
            (b"partial", json.dumps({"schema": 1, "influencer": "partial"}).encode()),
            record(profile_event("ann", "fitness", vec[3], post_count=12, batch_id=1)),
            (b"cat", None),  # tombstone: cat is gone
        ],
    )
    produce(
        bootstrap,
        topics.reclassified,
        [record(reclassified(name, "food", "travel", i)) for i, name in enumerate(["x", "y", "z"])],
    )
    followers = [
        {"schema": 1, "influencer": name, "followers": n} for name, n in (("ann", 10), ("ann", 1000))
    ]
    produce(bootstrap, topics.followers, [*map(record, followers), (b"bob", b'{"schema": 1}')])

    with TestClient(create_app(settings)) as client:
        materialiser = client.app.state.services.materialiser
        assert materialiser.wait_caught_up(60), f"not caught up: {materialiser.last_error}"
        assert client.get("/health/ready").status_code == 200
        health = client.get("/health").json()
        assert health["kafka_connected"] and health["status"] == "ok"
        assert health["profiles"] == health["index_vectors"] == 2

        ann = client.get("/api/influencers/ann").json()
        assert (ann["category"], ann["post_count"], ann["batch_id"]) == ("fitness", 12, 1)
        assert client.get("/api/influencers/cat").status_code == 404
        assert client.get("/api/influencers/broken").status_code == 404
        rejected = "scout_service_rejected_events_total"
        assert sample(client, rejected, 'reason="bad_json",stream="profiles"') == 1
        assert sample(client, rejected, 'reason="schema",stream="profiles"') == 1
        assert sample(client, rejected, 'reason="schema",stream="followers"') == 1
        assert ann["followers"] == 1000  # the latest count of the key, joined when caught up
        backlog = wait_for(lambda: client.app.state.services.feed.recent(), what="feed backlog")
        assert [event.data["influencer"] for event in backlog] == ["y", "z"]

        produce(bootstrap, topics.profiles, [record(profile_event("dan", "travel", vec[1], batch_id=2))])
        produce(bootstrap, topics.reclassified, [record(reclassified("ann", "food", "fitness", 1))])
        wait_for(lambda: client.get("/api/influencers/dan").status_code == 200, what="live profile")
        similar = client.get("/api/influencers/dan/similar", params={"k": 1}).json()["similar"]
        assert similar[0]["influencer"] == "bob" and similar[0]["score"] == pytest.approx(1.0)
        feed = wait_for(
            lambda: [e for e in client.app.state.services.feed.recent() if e.data["influencer"] == "ann"],
            what="live reclassification",
        )
        assert feed[0].data["category"] == "fitness"
        history = client.get("/api/influencers/ann/history").json()
        assert [p["post_count"] for p in history["points"]] == [7, 12] or history["points"][-1][
            "post_count"
        ] == 12
        assert [(c["previous_category"], c["category"]) for c in history["changes"]] == [("food", "fitness")]
        wait_for(
            lambda: sample(client, "scout_service_consumer_lag_records", 'stream="profiles"') == 0,
            what="zero lag",
        )
        assert sample(client, "scout_service_profiles", "") is None  # unlabelled: no braces
        metrics = client.get("/metrics").text
        assert "scout_service_profiles 3.0" in metrics and "scout_service_caught_up 1.0" in metrics
    assert not materialiser.running  # stopped with the app
