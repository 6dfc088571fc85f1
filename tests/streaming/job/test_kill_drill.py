"""Kill drill: `scout stream` runs as its own process while posts are replayed, is SIGKILLed at a
random point of each fifth of the replay (five kills), and restarts from its checkpoint each time.
The final profiles equal the uninterrupted run's and every influencer's post count equals its number
of posts: nothing lost, nothing counted twice. The first kill comes when a fifth of the posts have
been sent: the single-kill case is that round."""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
import time

import numpy as np
import pytest

from tests.streaming.job import helpers

pytestmark = pytest.mark.integration
log = logging.getLogger(__name__)


def published(settings) -> int:
    from streaming.infra.kafka_admin import end_offsets

    return sum(end_offsets(settings.kafka.bootstrap_servers, settings.kafka.topics.profiles).values())


def _drill(name: str, broker, tmp_path, model, world, posts_per_batch: int):
    """A seeded random source (the seed logged), settings with topics and a checkpoint of the
    drill's own, micro-batches of at most ``posts_per_batch`` every 0.5 s, and their TOML file."""
    seed = random.randrange(1 << 30)
    log.info("%s seed %d", name, seed)
    overrides = {"spark.max_offsets_per_trigger": posts_per_batch, "spark.trigger_seconds": 0.5}
    settings = helpers.topic_settings(broker, tmp_path / "checkpoint", model, world, **overrides)
    return random.Random(seed), settings, helpers.write_toml(settings, tmp_path / "scout.toml")


def _paced(settings, events: list) -> None:
    """``events`` into `posts` four at a time, 0.3 s apart."""
    for start in range(0, len(events), 4):
        helpers.produce(settings, events[start : start + 4])
        time.sleep(0.3)


def test_five_sigkills_during_one_replay_then_restart_equals_uninterrupted(
    kafka_broker, tiny_world, random_model, streamed_run, tmp_path
) -> None:
    rng, settings, config = _drill("five-kill drill", kafka_broker, tmp_path, random_model, tiny_world, 8)
    events = tiny_world.events
    kills = 5
    parts = [events[i * len(events) // kills : (i + 1) * len(events) // kills] for i in range(kills)]
    counted_at_kill: list[int] = []
    for round_, part in enumerate(parts):
        log_file = tmp_path / f"run-{round_}.log"
        before = published(settings)
        job = helpers.start_job(config, log_file)
        sender = threading.Thread(target=_paced, args=(settings, part))
        try:
            sender.start()
            deadline = time.monotonic() + 420
            while published(settings) == before:  # this run has committed at least one batch
                assert job.poll() is None, f"run {round_} exited early:\n{helpers.tail(log_file)}"
                assert time.monotonic() < deadline, (
                    f"run {round_} published nothing:\n{helpers.tail(log_file)}"
                )
                time.sleep(0.2)
            time.sleep(rng.uniform(0.0, 1.5))  # somewhere in the next batches: fold, sinks or commit
        finally:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
            sender.join()
        profiles = helpers.latest_by_influencer(helpers.read_json(settings, settings.kafka.topics.profiles))
        counted_at_kill.append(sum(p["post_count"] for p in profiles.values()))
    log.info("posts counted in published profiles at each kill: %s of %d", counted_at_kill, len(events))
    assert counted_at_kill[0] < len(events), "the first kill came after everything was processed"

    _restart_until_idle(config, tmp_path / "final.log")
    _assert_equal_to_uninterrupted(settings, streamed_run, tiny_world)


def _restart_until_idle(config, log_file) -> None:
    """`scout stream --until-idle 6` from the checkpoint: it must catch up and exit 0."""
    job = helpers.start_job(config, log_file, "--until-idle", "6")
    try:
        assert job.wait(timeout=480) == 0, helpers.tail(log_file)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)


def _assert_equal_to_uninterrupted(settings, streamed_run, world) -> None:
    final = helpers.latest_by_influencer(helpers.read_json(settings, settings.kafka.topics.profiles))
    reference = streamed_run.profiles
    assert set(final) == set(reference) == set(world.posts)
    # Equal to float tolerance: the encoders' float32 output for a post moves by ~1e-7 with the
    # other posts of its batch (padding, kernel choice), and the two runs cut batches differently.
    # A post lost or counted twice moves an embedding by orders of magnitude more.
    for influencer, profile in final.items():
        expected = reference[influencer]
        assert profile["post_count"] == len(world.posts[influencer]) == expected["post_count"]
        assert profile["category"] == expected["category"]
        np.testing.assert_allclose(profile["embedding"], expected["embedding"], rtol=0, atol=1e-6)
        assert [p["post_id"] for p in profile["top_posts"]] == [p["post_id"] for p in expected["top_posts"]]
        np.testing.assert_allclose(
            [profile["probabilities"][c] for c in expected["probabilities"]],
            list(expected["probabilities"].values()),
            rtol=0,
            atol=1e-6,
        )
