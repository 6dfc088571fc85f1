"""Follower counts from influencers.txt as events of the followers topic."""

from __future__ import annotations

from jsonschema import Draft202012Validator

from streaming import limits
from streaming.events import load_schema
from streaming.followers import followers_events
from training.dataset.records import InfluencerRecord


def test_listed_influencers_become_valid_events_and_unusable_rows_are_counted() -> None:
    rows = [
        InfluencerRecord("ann", "food", 1200, 10, 40),
        InfluencerRecord("bad\u202ename", "food", 5, 1, 1),  # a bidirectional override
        InfluencerRecord("x" * (limits.INFLUENCER_MAX_CHARS + 1), "pet", 5, 1, 1),
        InfluencerRecord("bob", "pet", 0, 3, 2),
    ]
    events, skipped = followers_events(rows)
    assert [(e["influencer"], e["followers"]) for e in events] == [("ann", 1200), ("bob", 0)] and skipped == 2
    schema = load_schema("followers")
    assert schema["properties"]["influencer"]["maxLength"] == limits.INFLUENCER_MAX_CHARS
    assert all(not list(Draft202012Validator(schema).iter_errors(e)) for e in events)
