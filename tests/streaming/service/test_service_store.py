"""ProfileStore: latest event per influencer wins, search/sort/paging, similarity per model version."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest

from streaming.errors import SimilarityIndexError
from streaming.service.store import ProfileStore, RejectedEvent, decode_event, profile_from_event
from tests.streaming.service.profiles import DIM, PER_CATEGORY, T0, cluster_events, new_store, profile_event


def unit(i: int, dim: int = DIM) -> np.ndarray:
    v = np.zeros(dim)
    v[i] = 1.0
    return v


def test_query_filters_by_prefix_and_category_and_pages(filled_store: ProfileStore) -> None:
    total, page = filled_store.query(prefix="FO", sort="name", descending=False, limit=3)
    assert total == PER_CATEGORY
    assert [p.influencer for p in page] == ["food_0", "food_1", "food_2"]
    total, page = filled_store.query(category="travel", sort="post_count", offset=1, limit=2)
    assert total == PER_CATEGORY
    assert [p.post_count for p in page] == sorted([p.post_count for p in page], reverse=True)
    assert [p.influencer for p in page] == ["travel_2", "travel_1"]
    total, page = filled_store.query(prefix="nobody")
    assert (total, page) == (0, [])


def test_sort_by_confidence_breaks_ties_by_name() -> None:
    store = new_store()
    for name in ["b", "a", "c"]:
        store.put(profile_from_event(profile_event(name, "food", unit(0), confidence=0.7)))
    store.put(profile_from_event(profile_event("z", "food", unit(0), confidence=0.9)))
    _, page = store.query(sort="confidence")
    assert [p.influencer for p in page] == ["z", "a", "b", "c"]


def test_latest_event_replaces_profile_and_vector(filled_store: ProfileStore) -> None:
    assert filled_store.get("food_0").category == "food"
    # food_0 moves into the travel cluster: its category and its neighbours follow.
    filled_store.put(profile_from_event(profile_event("food_0", "travel", unit(2), batch_id=9)))
    assert len(filled_store) == 3 * PER_CATEGORY
    assert filled_store.index_size() == 3 * PER_CATEGORY
    moved = filled_store.get("food_0")
    assert (moved.category, moved.batch_id) == ("travel", 9)
    neighbours = filled_store.similar_to("food_0", 3)
    assert {p.category for p, _ in neighbours} == {"travel"}
    assert filled_store.categories() == {"beauty": 4, "food": 3, "travel": 5}


def test_similar_excludes_itself_and_ranks_by_cosine(filled_store: ProfileStore) -> None:
    hits = filled_store.similar_to("beauty_1", 5)
    names = [p.influencer for p, _ in hits]
    assert "beauty_1" not in names
    assert set(names[:3]) == {"beauty_0", "beauty_2", "beauty_3"}
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > 0.9 > scores[-1]
    assert filled_store.similar_to("nobody", 3) is None


def test_model_versions_are_never_compared() -> None:
    later = T0 + timedelta(hours=1)
    store = new_store()
    store.put(profile_from_event(profile_event("old", "food", unit(0), model_version="v1")))
    store.put(
        profile_from_event(profile_event("new", "food", unit(0), model_version="v2", processing_time=later))
    )
    assert store.similar_to("new", 5) == []
    # v2 is the newest profile's model: v1's influencer is held but not served
    assert store.serving() == ("v2", 1) and store.get("old") is None
    assert store.search(unit(0).astype(np.float32), "v1", 5) == []
    assert store.search(unit(0).astype(np.float32), "v3", 5) == []
    # Re-profiled by v2, "old" leaves v1's index (which disappears) and joins v2's.
    store.put(
        profile_from_event(profile_event("old", "food", unit(0), model_version="v2", processing_time=later))
    )
    assert store.search(unit(0).astype(np.float32), "v1", 5) == []
    assert [p.influencer for p, _ in store.similar_to("new", 5)] == ["old"]
    assert store.index_size() == 2 and store.serving() == ("v2", 0)


def test_remove_forgets_profile_and_vector(filled_store: ProfileStore) -> None:
    assert filled_store.remove("food_0") is True
    assert filled_store.remove("food_0") is False
    assert filled_store.get("food_0") is None
    assert filled_store.index_size() == 3 * PER_CATEGORY - 1
    assert "food_0" not in [p.influencer for p, _ in filled_store.similar_to("food_1", 10)]


def test_a_vector_the_index_refuses_changes_nothing(filled_store: ProfileStore) -> None:
    before = filled_store.get("food_0")
    with pytest.raises(SimilarityIndexError):
        filled_store.put(profile_from_event(profile_event("food_0", "pet", np.ones(DIM + 3))))
    assert filled_store.get("food_0") is before


def test_decode_event_names_the_problem() -> None:
    event = cluster_events()[0]
    assert decode_event(json.dumps(event).encode(), "profile") == event
    with pytest.raises(RejectedEvent) as bad_json:
        decode_event(b"{not json", "profile")
    assert bad_json.value.reason == "bad_json"
    with pytest.raises(RejectedEvent) as bad_schema:
        decode_event(b'{"schema": 1, "influencer": "x"}', "profile")
    assert bad_schema.value.reason == "schema"
    assert "required" in str(bad_schema.value)


def test_query_matches_a_brute_force_scan_through_random_updates() -> None:
    rng = np.random.default_rng(11)
    store = new_store()
    names = ["Emma", "emma2", "Émile", "em", "bob", "Bobby", "b", "zoë", "ZOE", "anna.bakes", "anna_b"]
    expected: dict[str, tuple[str, float]] = {}
    for step in range(300):
        name = names[int(rng.integers(len(names)))]
        if rng.random() < 0.25:
            assert store.remove(name) == (name in expected)
            expected.pop(name, None)
        else:
            category = ["food", "travel", "pet"][int(rng.integers(3))]
            confidence = float(rng.choice([0.4, 0.6, 0.8]))
            event = profile_event(name, category, unit(step % DIM), confidence=confidence)
            store.put(profile_from_event(event))
            expected[name] = (category, confidence)
        for prefix in ("", "em", "EM", "É", "bob", "zo", "anna.", "x"):
            for category in (None, "food", "pet"):
                want = sorted(
                    (
                        n
                        for n, (c, _) in expected.items()
                        if n.casefold().startswith(prefix.casefold()) and category in (None, c)
                    ),
                    key=lambda n: (-expected[n][1], n),
                )
                total, page = store.query(prefix, category, "confidence", True, 0, 100)
                assert (total, [p.influencer for p in page]) == (len(want), want), (step, prefix, category)
    assert store.categories() == {
        c: n for c in ("food", "pet", "travel") if (n := sum(1 for cc, _ in expected.values() if cc == c))
    }
