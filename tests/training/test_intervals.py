"""Intervals on known numbers, and the verdicts read from them."""

from __future__ import annotations

import math

import pytest

from training.intervals import paired_difference, t_interval


def test_t_interval_on_known_numbers() -> None:
    interval = t_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    # s = sqrt(2.5), t_{0.975, 4} = 2.7764451
    assert interval.mean == pytest.approx(3.0)
    assert interval.half_width == pytest.approx(2.7764451 * math.sqrt(2.5) / math.sqrt(5), rel=1e-6)
    assert (interval.low, interval.high) == pytest.approx((3.0 - 1.963243, 3.0 + 1.963243), rel=1e-6)


def test_paired_difference_cancels_what_the_folds_share() -> None:
    easy_hard = [0.99, 0.70, 0.95, 0.60, 0.85]  # folds differ a lot ...
    better = [x + 0.02 for x in easy_hard]  # ... but one method is always 2 points up
    unpaired_a, unpaired_b = t_interval(better), t_interval(easy_hard)
    assert unpaired_a.low < unpaired_b.high, "the per-method intervals overlap"
    diff = paired_difference(better, easy_hard)
    assert diff.mean == pytest.approx(0.02) and diff.half_width == pytest.approx(0.0, abs=1e-12)
    assert diff.verdict() == "beats"
    assert paired_difference(easy_hard, better).verdict() == "loses"


def test_a_difference_within_noise_is_not_a_win() -> None:
    diff = paired_difference([0.90, 0.95, 0.88, 0.97], [0.91, 0.93, 0.89, 0.95])
    assert diff.mean > 0 and diff.low < 0 < diff.high
    assert diff.verdict() == "not told apart"


def test_one_fold_has_no_interval_and_bad_input_is_refused() -> None:
    single = t_interval([0.5])
    assert not single.known and single.verdict() == "no interval"
    assert single.to_dict()["half_width"] is None
    with pytest.raises(ValueError, match="same folds"):
        paired_difference([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="non-empty"):
        t_interval([])


def test_resampled_macro_f1_matches_sklearn_and_the_bootstrap_pairs_methods() -> None:
    import numpy as np
    from sklearn.metrics import f1_score

    from training.intervals import macro_f1_resampled, paired_bootstrap

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    good = np.where(rng.random(200) < 0.9, y, rng.integers(0, 4, 200))
    rows = rng.integers(0, 200, (3, 200))
    for r, value in zip(rows, macro_f1_resampled(y, good, rows, 4), strict=True):
        present = sorted(set(y[r].tolist()))
        assert value == pytest.approx(f1_score(y[r], good[r], labels=present, average="macro"))
    worse = good.copy()
    worse[:30] = (y[:30] + 1) % 4  # the same predictions, 30 more influencers wrong
    methods, diffs = paired_bootstrap(y, {"a": good, "b": worse, "c": good}, [("a", "b"), ("a", "c")], 4)
    assert methods["a"].low < methods["a"].mean < methods["a"].high
    assert diffs[("a", "b")].verdict() == "beats"
    assert diffs[("a", "c")].mean == 0.0 and diffs[("a", "c")].verdict() == "not told apart"
