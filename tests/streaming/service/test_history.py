"""An influencer's history: profile updates as points, reclassifications as changes, bounded."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from streaming.service.history import HistoryStore
from streaming.service.store import profile_from_event
from tests.streaming.service.profiles import T0, iso, new_store, profile_event


def _change(
    name: str, previous: str, category: str, post_count: int, version: str = "v-test"
) -> dict[str, Any]:
    return {
        "schema": 1, "influencer": name, "previous_category": previous, "category": category,
        "probabilities": {category: 0.6, previous: 0.4}, "post_count": post_count, "trigger_posts": ["p"],
        "model_version": version, "event_time": iso(T0),
        "processing_time": iso(T0 + timedelta(hours=post_count)),
        "batch_id": post_count,
    }  # fmt: skip


def test_history_gives_the_current_categorys_probability_as_posts_arrived(api_settings: Any) -> None:
    from fastapi.testclient import TestClient

    from streaming.service.app import create_app

    store = new_store()
    updates = [("food", 0.7, 5, 0), ("food", 0.55, 9, 1), ("food", 0.55, 9, 1), ("travel", 0.8, 14, 2)]
    events = [
        profile_event(
            "ann",
            category,
            np.eye(8)[0],
            confidence=p,
            post_count=n,
            batch_id=b,
            processing_time=T0 + timedelta(hours=n),
        )  # fmt: skip
        for category, p, n, b in updates
    ]
    app = create_app(api_settings, store=store)
    for event in events:  # what the materialiser does with each record
        store.put(profile_from_event(event))
        app.state.services.history.record_profile(event)
    app.state.services.history.record_change(_change("ann", "food", "travel", 14))
    app.state.services.history.record_change(_change("ann", "pet", "food", 3, version="older"))
    with TestClient(app) as client:
        history = client.get("/api/influencers/ann/history").json()
        assert client.get("/api/influencers/nobody/history").status_code == 404
    assert history["category"] == "travel" and history["model_version"] == "v-test"
    points = history["points"]
    assert [p["post_count"] for p in points] == [5, 9, 14]  # the replayed batch 1 counted once
    assert [p["category"] for p in points] == ["food", "food", "travel"]
    rest = (1 - 0.7) / 8, (1 - 0.55) / 8, 0.8  # travel's probability in each update
    assert [p["probability"] for p in points] == pytest.approx(rest)
    assert [(c["previous_category"], c["category"], c["post_count"]) for c in history["changes"]] == [
        ("food", "travel", 14)
    ]  # the other model's change is not this model's history


def test_history_is_bounded_per_influencer() -> None:
    history = HistoryStore(limit=3)
    for batch in range(10):
        history.record_profile(
            profile_event("bob", "pet", np.eye(8)[1], post_count=batch + 1, batch_id=batch)
        )
        history.record_change(_change("bob", "food", "pet", batch + 1))
    points, changes = history.of("bob", "v-test")
    assert [p.post_count for p in points] == [8, 9, 10] and [c.post_count for c in changes] == [8, 9, 10]
    history.forget("bob")
    assert history.of("bob", "v-test") == ([], [])
