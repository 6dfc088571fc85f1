"""A drifting influencer of the synthetic world is reclassified from its old topic to its new one,
with the posts that triggered it, and the event agrees with the profiles before and after it."""

from __future__ import annotations

import pytest

from tests.streaming.job.helpers import CLEAR_WORLD, produce, read_json, topic_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def drift_world(tmp_path_factory):
    from streaming.replay import encode, ordered_posts, to_post_event
    from tests.streaming.job.helpers import World
    from training.dataset.reader import open_dataset
    from training.synth.knobs import WorldKnobs
    from training.synth.meta import load_world_meta
    from training.synth.writer import generate_world

    root = tmp_path_factory.mktemp("drift") / "world"
    knobs = WorldKnobs(
        influencers=6, posts=24, seed=8, drift_share=1.0, drift_start=(0.4, 0.5), **CLEAR_WORLD
    )
    generate_world(root, knobs, progress=False)
    dataset = open_dataset(root)
    events, posts = [], {}
    for record in ordered_posts(dataset):
        event = to_post_event(record, "uri", dataset.read_image)
        events.append((record.influencer.encode(), encode(event)))
        posts.setdefault(record.influencer, []).append(event)
    return World(root, events, posts, load_world_meta(root))


def test_drifting_influencers_are_reclassified_old_to_new(
    kafka_broker, spark, drift_world, trained_model, tmp_path
):
    from streaming.job.runner import StreamJob

    settings = topic_settings(
        kafka_broker,
        tmp_path / "checkpoint",
        trained_model,
        drift_world,
        # posts arrive in time order, 30 per micro-batch; recency of 20 days follows the new topic
        **{"spark.max_offsets_per_trigger": 30, "job.tau_seconds": 20 * 86400.0},
    )
    produce(settings, drift_world.events)
    job = StreamJob(settings, spark)
    job.start()
    try:
        job.process_all_available()
    finally:
        job.stop()

    drifts = drift_world.meta.drifts
    assert drifts, "the world has no drifting influencer"
    events = read_json(settings, settings.kafka.topics.reclassified)
    profiles = read_json(settings, settings.kafka.topics.profiles)
    for influencer, drift in drifts.items():
        mine = [e for e in events if e["influencer"] == influencer]
        hits = [
            e
            for e in mine
            if (e["previous_category"], e["category"]) == (drift.from_category, drift.to_category)
        ]
        assert hits, f"{influencer} drifted {drift.from_category} -> {drift.to_category}; events: {mine}"
        post_ids = [p["post_id"] for p in drift_world.posts[influencer]]
        for event in hits:
            assert set(event["trigger_posts"]) <= set(post_ids)
            # the trigger posts include posts of the new period
            assert max(post_ids.index(p) for p in event["trigger_posts"]) >= drift.start_index

    for event in events:  # each event is a real change between two consecutive profiles
        assert event["previous_category"] != event["category"]
        history = [p for p in profiles if p["influencer"] == event["influencer"]]
        before = [p for p in history if p["batch_id"] < event["batch_id"]]
        now = [p for p in history if p["batch_id"] == event["batch_id"]]
        assert now and now[-1]["category"] == event["category"]
        assert before and before[-1]["category"] == event["previous_category"]
