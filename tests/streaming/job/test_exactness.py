"""Streamed in micro-batches of random sizes, every influencer's embedding equals the batch
recomputation over all its posts (the model embeds them at once, one softmax pools them)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tests.streaming.job.conftest import (
    batch_profile,
    latest_by_influencer,
    produce,
    random_chunks,
    read_json,
)

pytestmark = pytest.mark.integration

THIRTY_DAYS = 30 * 86400.0


@pytest.mark.parametrize("tau_seconds", [None, THIRTY_DAYS], ids=["all-time", "tau-30d"])
def test_streamed_profiles_equal_batch_recomputation(job_settings, spark, tiny_world, random_model, tau_seconds):
    from streaming.job.runner import StreamJob
    from training.model_dir import load_model

    settings = job_settings(job__tau_seconds=tau_seconds)
    job = StreamJob(settings, spark)
    job.start()
    try:
        for chunk in random_chunks(tiny_world.events, random.Random(7), parts=3):
            produce(settings, chunk)
            job.process_all_available()
    finally:
        job.stop()

    profiles = latest_by_influencer(read_json(settings, settings.kafka.topics.profiles))
    assert set(profiles) == set(tiny_world.posts)
    model = load_model(random_model, "cpu")
    worst = 0.0
    for influencer, posts in tiny_world.posts.items():
        expected = batch_profile(model, posts, tau_seconds)  # (H,)
        profile = profiles[influencer]
        got = np.array(profile["embedding"])
        worst = max(worst, float(np.abs(got - expected).max()))
        assert profile["post_count"] == len(posts)
        probs = model.classify(expected[None, :].astype(np.float32))[0]
        assert profile["category"] == model.labels[int(np.argmax(probs))], influencer
        assert profile["model_version"] == model.version
    assert worst <= 1e-5, f"max abs difference {worst:.2e}"
