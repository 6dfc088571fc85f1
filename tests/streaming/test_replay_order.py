"""Time order in bounded memory: spilled runs merge to exactly the in-memory order, and a replay
built on them sends the same events, malformed ones included, in the same order."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from streaming.replay import ReplayStats, _events
from streaming.replay_order import time_key, time_ordered
from training.dataset.reader import open_dataset
from training.dataset.records import PostRecord
from training.synth import WorldKnobs
from training.synth.writer import generate_world


def _post(influencer: str, post_id: str, minute: int, image: bool = True) -> PostRecord:
    return PostRecord(
        influencer=influencer,
        label="food",
        post_id=post_id,
        ts=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minute),
        caption=f"caption {post_id}",
        hashtags=("a",),
        usertags=(),
        likes=1,
        comments=0,
        sponsored=False,
        is_video=False,
        image_paths=(Path(f"{post_id}.jpg"),) if image else (),
    )


@pytest.fixture
def grouped() -> list[PostRecord]:
    """Posts grouped by influencer as a reader yields them, with ties in time across influencers."""
    rng = random.Random(5)
    return [
        _post(f"user{u}", f"{u}-{p}", rng.randrange(60), image=rng.random() > 0.1)
        for u in range(12)
        for p in range(rng.randrange(1, 15))
    ]


@pytest.mark.parametrize("run_size", [1, 7, 50, 10_000])
@pytest.mark.parametrize("limit", [None, 0, 33])
def test_spilled_runs_merge_to_the_in_memory_order(grouped, run_size, limit) -> None:
    expected = sorted(grouped, key=time_key)[:limit]
    ordered = time_ordered(grouped, limit, run_size=run_size)
    assert list(ordered) == expected and list(ordered) == expected  # iterable more than once
    assert ordered.count == len(expected)
    assert ordered.with_images == sum(1 for p in expected if p.image_paths)
    with_images = [p for p in expected if p.image_paths]
    assert ordered.last_with_image == (with_images[-1] if with_images else None)
    assert ordered.runs == (1 if len(grouped) <= run_size else -(-len(grouped) // run_size))


def test_close_removes_the_spilled_runs(grouped) -> None:
    ordered = time_ordered(grouped, run_size=10)
    folder = ordered._run_paths[0].parent
    assert folder.is_dir() and len(list(folder.iterdir())) == ordered.runs > 1
    ordered.close()
    assert not folder.exists()


def test_replay_events_are_the_same_with_and_without_spilling(tmp_path) -> None:
    world = generate_world(
        tmp_path / "w", WorldKnobs(influencers=9, posts=12, seed=4, image_size=16), progress=False
    )
    with open_dataset(world.out) as ds:
        sent = {}
        for run_size in (10**9, 13):
            stats = ReplayStats("posts")
            ordered = time_ordered(ds.iter_posts(), run_size=run_size)
            sent[run_size] = list(_events(ordered, ds, stats, "uri", 0.2, 3, 300))
            assert stats.malformed and stats.valid == ordered.with_images
    assert sent[13] == sent[10**9] and len(sent[13]) > 100
