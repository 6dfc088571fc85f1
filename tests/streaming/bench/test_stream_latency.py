"""Latency from topic record times: each post is matched to the first profile that counts it."""

from __future__ import annotations

import math

import numpy as np

from streaming.bench.stream_latency import (
    batch_breakdown_ms,
    percentiles,
    post_to_profile_ms,
    post_to_reclassification_ms,
)


def test_a_post_is_timed_to_the_first_profile_that_counts_it() -> None:
    posts = [("a", 100), ("b", 110), ("a", 120), ("a", 130), ("b", 300)]
    profiles = [("a", 1, 150), ("b", 1, 160), ("a", 3, 400), ("b", 2, 500)]
    got = post_to_profile_ms(posts, profiles)
    np.testing.assert_array_equal(got, [50, 50, 280, 270, 200])


def test_posts_no_profile_counts_yet_are_nan_and_left_out_of_percentiles() -> None:
    got = post_to_profile_ms([("a", 0), ("a", 10), ("c", 5)], [("a", 1, 40)])
    assert got[0] == 40 and math.isnan(got[1]) and math.isnan(got[2])
    assert percentiles(got) == (40.0, 40.0)
    assert all(math.isnan(v) for v in percentiles(np.array([np.nan])))


def test_reclassification_latency_of_each_trigger_post() -> None:
    sent = {"p1": 100, "p2": 150, "p3": 170}
    got = post_to_reclassification_ms(sent, [(["p1", "p2"], 400), (["p3", "unknown"], 200)])
    np.testing.assert_array_equal(got, [300, 250, 30])


def test_batch_breakdown_averages_the_batches_that_read_posts() -> None:
    progress = [
        {"numInputRows": 0, "durationMs": {"addBatch": 9000, "triggerExecution": 9000}},
        {"numInputRows": 4, "durationMs": {"addBatch": 100, "triggerExecution": 300},
         "stateOperators": [{"allUpdatesTimeMs": 40, "commitTimeMs": 10}]},
        {"numInputRows": 8, "durationMs": {"addBatch": 300, "triggerExecution": 500},
         "stateOperators": [{"allUpdatesTimeMs": 60, "commitTimeMs": 30}]},
    ]  # fmt: skip
    got = batch_breakdown_ms(progress)
    assert got == {"input_rows": 6.0, "addBatch": 200.0, "triggerExecution": 400.0,
                   "state_update": 50.0, "state_commit": 20.0}  # fmt: skip
    assert batch_breakdown_ms(progress[:1]) == {}
