"""Malformed records mixed into `posts`: the job keeps running, every record comes out exactly once
(a profile update or a dead letter with the right reason and its original bytes)."""

from __future__ import annotations

import base64
from collections import Counter

import pytest

pytestmark = pytest.mark.integration


def test_valid_plus_dead_lettered_equals_produced(streamed_run, tiny_world) -> None:
    dead = streamed_run.topics["dlq"]
    counted = sum(p["post_count"] for p in streamed_run.profiles.values())
    assert counted == len(tiny_world.events)
    assert counted + len(dead) == streamed_run.produced
    assert len(dead) == len(streamed_run.bad)


def test_each_bad_record_is_dead_lettered_with_its_reason_and_bytes(streamed_run) -> None:
    dead = streamed_run.topics["dlq"]
    got = Counter(
        (None if d["original_b64"] is None else base64.b64decode(d["original_b64"]), d["reason"], d["stage"])
        for d in dead
    )
    expected = Counter((b.value, b.reason, b.stage) for b in streamed_run.bad)
    assert got == expected
    posts_topic = streamed_run.settings.kafka.topics.posts
    assert {d["source_topic"] for d in dead} == {posts_topic}
    positions = {(d["source_partition"], d["source_offset"]) for d in dead}
    assert len(positions) == len(dead), "a dead letter was written twice"


def test_dead_letters_do_not_touch_the_state(streamed_run, tiny_world) -> None:
    # The embed-stage rejects carry a real influencer's key: its post count ignores them.
    influencer = sorted(tiny_world.posts)[0]
    assert streamed_run.profiles[influencer]["post_count"] == len(tiny_world.posts[influencer])
