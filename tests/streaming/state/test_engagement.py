"""The engagement tally: figures from the running sums, a rate from the followers."""

from __future__ import annotations

import numpy as np

from streaming.state.engagement import WEEK_S, empty_tally, engagement, fold_tally


def test_a_short_span_counts_as_a_week_and_missing_counts_stay_missing() -> None:
    tally = fold_tally(empty_tally(2), np.array([0, 0, 1]), np.array([10.0, 30.0, np.nan]),
                       np.array([np.nan, np.nan, np.nan]), np.array([0.0, 3600.0, 5.0]))  # fmt: skip
    first = engagement(2, tally[0])
    assert first.likes_mean == 20.0 and first.comments_mean is None and first.posts_per_week == 2.0
    assert first.rate(1000) == 20.0 / 1000 and first.rate(None) is None and first.rate(0) is None
    second = engagement(1, tally[1])
    assert second.likes_mean is None and second.rate(1000) is None


def test_posts_per_week_over_a_long_span() -> None:
    ts = np.arange(10) * WEEK_S / 2  # ten posts over four and a half weeks
    tally = fold_tally(empty_tally(1), np.zeros(10, np.int64), np.ones(10), np.ones(10), ts)
    assert engagement(10, tally[0]).posts_per_week == 10 / 4.5
