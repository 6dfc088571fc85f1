"""One model at a time: a topic that still holds an earlier world's profiles (another model) lists,
counts, searches and compares only the profiles of the served model, and says which it is."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np

from streaming.service.store import profile_from_event
from tests.streaming.service.profiles import T0, new_store, profile_event


def _store(pinned: str | None = None) -> Any:
    rng = np.random.default_rng(1)
    store = new_store()
    store.pinned_version = pinned
    for i in range(60):  # the earlier world, by the earlier model
        event = profile_event(f"old_{i}", "pet", rng.standard_normal(8), model_version="v-old",
                              text_vector=rng.standard_normal(4), processing_time=T0)  # fmt: skip
        store.put(profile_from_event(event))
    later = T0 + timedelta(hours=1)
    for i in range(360):  # the new run: later, another model
        event = profile_event(f"new_{i:03d}", "food", rng.standard_normal(8), model_version="v-new",
                              text_vector=rng.standard_normal(4), processing_time=later)  # fmt: skip
        store.put(profile_from_event(event))
    store.put(profile_from_event(profile_event("new_000", "food", np.ones(8), model_version="v-new",
                                               processing_time=T0 + timedelta(hours=2))))  # fmt: skip
    return store


def test_the_newest_model_is_served_alone_and_named(api_settings: Any) -> None:
    from fastapi.testclient import TestClient

    from streaming.service.app import create_app

    store = _store()
    with TestClient(create_app(api_settings, store=store)) as client:
        page = client.get("/api/influencers", params={"limit": 6}).json()
        assert (page["total"], page["model_version"], page["held_back"]) == (360, "v-new", 60)
        assert client.get("/api/categories").json() == [{"category": "food", "influencers": 360}]
        assert client.get("/api/influencers/old_3").status_code == 404
        similar = client.get("/api/influencers/new_001/similar", params={"k": 5}).json()["similar"]
        assert all(s["influencer"].startswith("new_") for s in similar) and len(similar) == 5
        health = client.get("/health").json()
        assert (health["serving_model_version"], health["held_back"], health["profiles"]) == (
            "v-new",
            60,
            420,
        )
    hits = store.search_text(np.ones(4, np.float32), "v-new", 400)
    assert len(hits) == 359  # new_000's latest profile has no text vector: it left the text index
    assert store.search_text(np.ones(4, np.float32), "v-old", 10) == []
    assert store.roster(["new_001", "old_2"], 3) == (["old_2"], store.roster(["new_001"], 3)[1])


def test_the_configured_model_is_served_whatever_came_later() -> None:
    store = _store(pinned="v-old")
    total, page = store.query(limit=100)
    assert total == 60 and all(p.model_version == "v-old" for p in page)
    assert store.serving() == ("v-old", 360)
    assert store.get("new_001") is None and store.get("old_1") is not None
