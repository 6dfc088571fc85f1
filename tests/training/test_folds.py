"""Stratified folds: each influencer tested once, folds disjoint and stratified, and a clear stop
when a category is too small for the folds asked for."""

from __future__ import annotations

import numpy as np
import pytest

from training.bags import InfluencerBags, split_bags, split_notes
from training.errors import SplitError
from training.folds import stratified_folds


def _bags(per_category: dict[int, int]) -> InfluencerBags:
    labels = np.array([c for c, n in per_category.items() for _ in range(n)], dtype=np.int64)
    starts = np.arange(len(labels), dtype=np.int64) * 3
    return InfluencerBags(
        names=tuple(f"u{i}" for i in range(len(labels))),
        labels=labels,
        starts=starts,
        ends=starts + 3,
        post_topics=np.full(3 * len(labels), -100, dtype=np.int64),
    )


def test_folds_partition_every_influencer_and_stay_stratified() -> None:
    bags = _bags({0: 20, 1: 13, 2: 7})
    folds = stratified_folds(bags, 5, seed=3)
    tests = np.concatenate([f["test"] for f in folds])
    assert sorted(tests.tolist()) == list(range(len(bags))), "each influencer tested exactly once"
    for fold in folds:
        parts = [set(fold[p].tolist()) for p in ("train", "val", "test")]
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        assert sum(map(len, parts)) == len(bags)
        assert np.bincount(bags.labels[fold["test"]], minlength=3).tolist()[0] == 4
        assert set(bags.labels[fold["val"]].tolist()) == {0, 1, 2}, "validation covers every category"
    again = stratified_folds(bags, 5, seed=3)
    assert all(np.array_equal(a["test"], b["test"]) for a, b in zip(folds, again, strict=True))


def test_too_few_influencers_for_the_folds_stop_with_the_count() -> None:
    bags = _bags({0: 6, 1: 2, 2: 6})
    with pytest.raises(SplitError, match=r"5 folds need at least 5 influencers.*use --folds 2 or fewer"):
        stratified_folds(bags, 5)
    assert len(stratified_folds(bags, 2)) == 2


def test_small_categories_are_held_out_as_far_as_they_can_be(tmp_path) -> None:
    bags = _bags({c: 2 for c in range(9)})  # the 18-influencer dataset, 2 per category
    split = split_bags(bags, tmp_path, seed=0)
    assert len(split["test"]) == 9 and len(split["val"]) == 0 and len(split["train"]) == 9
    notes = split_notes(bags, split)
    assert any("no validation influencer for 9 of 9 categories" in n and "at least 3" in n for n in notes)
    one_each = _bags({c: 1 for c in range(9)})
    split = split_bags(one_each, tmp_path, seed=0)
    assert len(split["train"]) == 9 and not len(split["test"])
    assert any("exported untested" in n for n in split_notes(one_each, split))
    three = _bags({c: 3 for c in range(9)})
    assert split_notes(three, split_bags(three, tmp_path, seed=0)) == []
