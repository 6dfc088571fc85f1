"""Restart drill: a restarted `scout serve` rebuilds the same view from the compacted topics alone.

Profiles (with updates and a tombstone) and reclassifications go to per-test topics on the real
broker; `scout serve` reads them, is stopped with SIGTERM and started again, and must answer the
same profiles, the same similar influencers and the same feed backlog as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from streaming.infra.kafka_admin import produce
from tests.streaming.service.profiles import T0, cluster_events, iso, profile_event
from tests.streaming.service.serving import ScoutServe, toml_config

pytestmark = pytest.mark.integration

TOKEN = "restart-drill-token-0123456789"
SIMILAR_K = 5


def record(event: dict[str, Any]) -> tuple[bytes, bytes]:
    return event["influencer"].encode(), json.dumps(event).encode()


def reclassified(name: str, batch_id: int) -> tuple[bytes, bytes]:
    return record(
        {
            "schema": 1,
            "influencer": name,
            "previous_category": "travel",
            "category": "food",
            "probabilities": {"food": 0.6, "travel": 0.4},
            "post_count": 9,
            "trigger_posts": ["p7"],
            "model_version": "v-test",
            "event_time": iso(T0),
            "processing_time": iso(T0),
            "batch_id": batch_id,
        }
    )


def view(served: ScoutServe) -> dict[str, Any]:
    """Everything a client can read: the listing, each profile, its similar influencers, the feed."""
    listing = served.get_json("/api/influencers?sort=name&order=asc&limit=200")
    names = [item["influencer"] for item in listing["items"]]
    return {
        "listing": listing,
        "profiles": {name: served.get_json(f"/api/influencers/{name}") for name in names},
        "similar": {
            name: served.get_json(f"/api/influencers/{name}/similar?k={SIMILAR_K}") for name in names
        },
        "categories": served.get_json("/api/categories"),
        "feed": served.get("/api/feed?max_events=3").decode(),
    }


def test_a_restarted_service_answers_the_same(
    scout_settings: Callable[..., Any], free_port: Callable[[], int], tmp_path: Path
) -> None:
    settings = scout_settings(unique=True)
    bootstrap, topics = settings.kafka.bootstrap_servers, settings.kafka.topics
    events = cluster_events()
    moved = profile_event("travel_1", "food", np.eye(8)[1] + 0.01, post_count=40, batch_id=3)
    produce(
        bootstrap,
        topics.profiles,
        [
            *map(record, events),
            record(moved),
            (b"beauty_3", None),  # an update, then a tombstone
        ],
    )
    produce(bootstrap, topics.reclassified, [reclassified(f"food_{i}", i) for i in range(3)])
    port = free_port()
    config = tmp_path / "scout.toml"
    config.write_text(toml_config(settings, port, {"api_token": TOKEN}))
    served = ScoutServe(config, port, tmp_path / "serve.log", token=TOKEN)

    with served:
        before = view(served)
        assert served.status_of("/api/influencers/beauty_3") == 404
    assert before["listing"]["total"] == len(events) - 1
    assert before["profiles"]["travel_1"]["category"] == "food"
    assert before["profiles"]["travel_1"]["post_count"] == 40
    assert [s["category"] for s in before["similar"]["food_0"]["similar"][:2]] == ["food", "food"]
    assert before["feed"].count("event: reclassified") == 3

    with served:  # the same config: nothing but the topics to rebuild from
        after = view(served)
        assert served.status_of("/api/influencers/beauty_3") == 404
    assert after["listing"] == before["listing"]
    assert after["profiles"] == before["profiles"]
    assert after["categories"] == before["categories"]
    assert after["feed"] == before["feed"]
    for name, result in before["similar"].items():
        again = after["similar"][name]
        assert [s["influencer"] for s in again["similar"]] == [s["influencer"] for s in result["similar"]], (
            name
        )
        assert [s["score"] for s in again["similar"]] == pytest.approx(
            [s["score"] for s in result["similar"]]
        )
