"""Streamed in micro-batches of random sizes, every influencer's embedding equals the batch
recomputation over all its posts (the model embeds them at once, one softmax pools them)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from streaming.config import ScoutSettings
from streaming.events import load_schema
from tests.streaming.job.helpers import (
    batch_pooled,
    batch_profile,
    batch_sponsorship,
    latest_by_influencer,
    produce,
    random_chunks,
    read_json,
)

pytestmark = pytest.mark.integration


def _assert_equal_to_batch(
    profiles: dict, world_posts: dict, model_dir, tau_seconds: float | None, undisclosed: list | None = None
) -> float:
    """Every profile against the batch recomputation; with ``undisclosed`` (the topic's events), the
    sponsorship figures and the flagged posts too."""
    from training.model_dir import load_model

    assert set(profiles) == set(world_posts)
    model = load_model(model_dir, "cpu")
    worst = 0.0
    flagged: dict[str, float] = {}
    for influencer, posts in world_posts.items():
        if undisclosed is not None:
            flagged.update(_assert_sponsorship(profiles[influencer], model, posts))
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
    if undisclosed is not None:
        published = {event["post_id"]: event["probability"] for event in undisclosed}
        assert published.keys() == flagged.keys() and flagged, "each flagged post on the topic"
        assert len(undisclosed) == len(published), "no flagged post twice in an uninterrupted run"
        for post_id, probability in flagged.items():
            assert published[post_id] == pytest.approx(probability, abs=1e-5)
    return worst


THRESHOLD = ScoutSettings().sponsorship.undisclosed_threshold


def _assert_sponsorship(profile: dict, model, posts: list) -> dict[str, float]:
    """One profile's sponsorship figures equal one pass over all its posts; returns its flagged posts."""
    want = batch_sponsorship(model, posts, THRESHOLD)
    got = profile["sponsorship"]
    n = len(posts)
    assert got["disclosed_posts"] == want["disclosed_posts"]
    assert got["disclosed_share"] == pytest.approx(want["disclosed_posts"] / n, rel=1e-12)
    assert got["estimated_undisclosed"] == pytest.approx(want["estimated_undisclosed"], abs=1e-4)
    assert got["flagged_posts"] == len(want["flagged"])
    assert {b["brand"]: (b["posts"], b["disclosed"]) for b in got["brands"]} == want["brands"]
    assert [p["post_id"] for p in got["likely_undisclosed"]] == want["likely"][
        : len(got["likely_undisclosed"])
    ]
    assert len(got["likely_undisclosed"]) == min(len(want["likely"]), ScoutSettings().sponsorship.top_k_posts)
    return want["flagged"]


def test_streamed_profiles_equal_batch_recomputation(streamed_run, tiny_world, random_model) -> None:
    undisclosed = streamed_run.topics["undisclosed"]
    worst = _assert_equal_to_batch(streamed_run.profiles, tiny_world.posts, random_model, None, undisclosed)
    # the world's paid posts: some disclosed, some not, and brands counted
    figures = [p["sponsorship"] for p in streamed_run.profiles.values()]
    assert sum(f["disclosed_posts"] for f in figures) > 0 and any(f["brands"] for f in figures)
    assert worst <= 1e-5, f"max abs difference {worst:.2e}"


def test_every_output_event_follows_its_schema(streamed_run) -> None:
    for topic, schema in (
        ("profiles", "profile"),
        ("reclassified", "reclassified"),
        ("similar", "similar"),
        ("dlq", "dead_letter"),
        ("undisclosed", "undisclosed"),
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
