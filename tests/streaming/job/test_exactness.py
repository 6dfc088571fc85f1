"""Streamed in micro-batches of random sizes, every influencer's embedding equals the batch
recomputation over all its posts (the model embeds them at once, one softmax pools them)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from streaming.events import load_schema
from tests.streaming.job.helpers import (
    batch_pooled,
    batch_profile,
    latest_by_influencer,
    produce,
    random_chunks,
    read_json,
)

pytestmark = pytest.mark.integration


def _assert_equal_to_batch(profiles: dict, world_posts: dict, model_dir, tau_seconds: float | None) -> float:
    from training.model_dir import load_model

    assert set(profiles) == set(world_posts)
    model = load_model(model_dir, "cpu")
    worst = 0.0
    for influencer, posts in world_posts.items():
        expected, text = batch_pooled(model, posts, tau_seconds)  # (H,), (T,) float64
        profile = profiles[influencer]
        worst = max(worst, float(np.abs(np.array(profile["embedding"]) - expected).max()))
        # the pooled text vector, at float32 precision on the wire
        np.testing.assert_allclose(profile["text_vector"], text, rtol=1e-5, atol=1e-6, err_msg=influencer)
        engagement = profile["engagement"]
        likes = [p["likes"] for p in posts if p.get("likes") is not None]
        comments = [p["comments"] for p in posts if p.get("comments") is not None]
        assert engagement["likes_mean"] == (pytest.approx(np.mean(likes), rel=1e-12) if likes else None)
        assert engagement["comments_mean"] == (
            pytest.approx(np.mean(comments), rel=1e-12) if comments else None
        )
        assert engagement["last_post"] == max(p["ts"] for p in posts), influencer
        assert profile["post_count"] == len(posts), influencer
        probs = model.classify(expected[None, :].astype(np.float32))[0]  # (C,)
        assert profile["category"] == model.labels[int(np.argmax(probs))], influencer
        assert profile["model_version"] == model.version
    return worst


def test_streamed_profiles_equal_batch_recomputation(streamed_run, tiny_world, random_model) -> None:
    worst = _assert_equal_to_batch(streamed_run.profiles, tiny_world.posts, random_model, None)
    assert worst <= 1e-5, f"max abs difference {worst:.2e}"


def test_every_output_event_follows_its_schema(streamed_run) -> None:
    for topic, schema in (
        ("profiles", "profile"),
        ("reclassified", "reclassified"),
        ("similar", "similar"),
        ("dlq", "dead_letter"),
    ):
        validator = Draft202012Validator(load_schema(schema))
        for event in streamed_run.topics[topic]:
            validator.validate(event)
    assert streamed_run.topics["similar"], "no similar-influencer events were published"
    for event in streamed_run.topics["similar"]:
        assert event["influencer"] not in {n["influencer"] for n in event["neighbours"]}


def test_with_tau_equal_to_the_batch_time_decayed_softmax(
    job_settings, spark, tiny_world, random_model
) -> None:
    from streaming.job.runner import StreamJob

    tau = 30 * 86400.0
    settings = job_settings(job__tau_seconds=tau)
    job = StreamJob(settings, spark)
    job.start()
    try:
        for chunk in random_chunks(tiny_world.events, random.Random(5), parts=3):
            produce(settings, chunk)
            job.process_all_available()
    finally:
        job.stop()
    profiles = latest_by_influencer(read_json(settings, settings.kafka.topics.profiles))
    worst = _assert_equal_to_batch(profiles, tiny_world.posts, random_model, tau)
    assert worst <= 1e-5, f"max abs difference {worst:.2e}"
    # recency really changes the pooling: all-time pooling of the same posts is measurably different
    from training.model_dir import load_model

    model = load_model(random_model, "cpu")
    posts = max(tiny_world.posts.values(), key=len)
    assert np.abs(batch_profile(model, posts, tau) - batch_profile(model, posts, None)).max() > 1e-3
