"""The sponsorship state folded batch by batch equals one computation over all the posts."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from streaming.state.fold import PostBatch, StateBatch, fold_batch
from streaming.state.sponsorship import (
    empty_sponsor,
    fold_brands,
    fold_sponsor,
    merge_likely,
    post_brands,
    sponsorship,
)

DIM = 4
THRESHOLD = 0.6
BRANDS = [f"brand{i:02d}" for i in range(30)]


def _posts(rng: np.random.Generator, segment: np.ndarray, first: int, scored: bool) -> PostBatch:
    b = segment.shape[0]
    disclosed = rng.random(b) < 0.3
    probability = rng.random(b) if scored else np.full(b, np.nan)
    brands = [tuple(rng.choice(BRANDS, size=rng.integers(0, 4), replace=False).tolist()) for _ in range(b)]
    return PostBatch(
        segment=segment.astype(np.int64),
        scores=rng.normal(0, 1, b),
        h=rng.normal(0, 1, (b, DIM)),
        ts_seconds=1.6e9 + rng.uniform(0, 3e7, b),
        post_id=np.array([f"p{first + i:05d}" for i in range(b)]),
        image_uri=[None] * b,
        caption=[""] * b,
        disclosed=disclosed,
        probability=probability,
        brands=brands,
    )


def _reference(posts: list[tuple], n: int, top_k: int) -> dict:
    """One pass over every post of one influencer: (disclosed, p, id, ts, brands) tuples."""
    disclosed = sum(d for d, *_ in posts)
    scored = [p for _, p, *_ in posts if not np.isnan(p)]
    estimated = sum(p for d, p, *_ in posts if not d and not np.isnan(p)) if scored else None
    flagged = [(p, i, t, b) for d, p, i, t, b in posts if not d and p >= THRESHOLD]
    brands: Counter = Counter()
    shown: Counter = Counter()
    for d, p, _, _, b in posts:
        if d or p >= THRESHOLD:
            brands.update(b)
            shown.update(b if d else ())
    likely = sorted(flagged, key=lambda f: (-f[0], f[1]))[:top_k]
    return {
        "disclosed_share": disclosed / n,
        "estimated": estimated,
        "sponsored_share": (disclosed + (estimated or 0.0)) / n,
        "flagged": len(flagged) if scored else None,
        "brands": sorted(((b, c, shown[b]) for b, c in brands.items()), key=lambda x: (-x[1], x[0])),
        "likely": [i for _, i, _, _ in likely],
    }


@pytest.mark.parametrize("scored", [True, False])
def test_figures_folded_batch_by_batch_equal_one_pass_over_the_posts(scored: bool) -> None:
    rng = np.random.default_rng(17 if scored else 18)
    names = [f"inf{g:03d}" for g in range(120)]
    states = {name: None for name in names}
    history: dict[str, list[tuple]] = {name: [] for name in names}
    first = 0
    for _ in range(5):  # micro-batches of random sizes over random subsets
        touched = sorted(rng.choice(len(names), size=rng.integers(20, 100), replace=False).tolist())
        segment = np.sort(np.r_[np.arange(len(touched)), rng.integers(0, len(touched), rng.integers(0, 400))])
        posts = _posts(rng, segment, first, scored)
        first += segment.size
        batch_names = [names[g] for g in touched]
        prior = StateBatch.new(batch_names, DIM)
        for g, name in enumerate(batch_names):  # the states kept so far, stacked
            if states[name] is not None:
                st = states[name]
                prior.n[g], prior.m[g], prior.z[g], prior.sponsor[g] = st.n, st.m, st.z, st.sponsor
        kept = [states[name] for name in batch_names]
        prior = StateBatch(
            prior.names, prior.n, prior.m, prior.z, prior.s, prior.top, prior.category,
            sponsor=prior.sponsor,
            brands=tuple(st.brands if st else () for st in kept),
            likely=tuple(st.likely if st else () for st in kept),
        )  # fmt: skip
        folded = fold_batch(prior, posts, None, top_k=2, threshold=THRESHOLD, likely_k=3).states
        for g, name in enumerate(batch_names):
            states[name] = _One(folded, g)
            for i in np.flatnonzero(posts.segment == g):
                post = (bool(posts.disclosed[i]), float(posts.probability[i]), str(posts.post_id[i]),
                        float(posts.ts_seconds[i]), posts.brands[i])  # fmt: skip
                history[name].append(post)
    checked = 0
    for name, st in states.items():
        if st is None:
            continue
        got = sponsorship(st.n, st.sponsor, st.brands, st.likely, THRESHOLD)
        want = _reference(history[name], st.n, top_k=3)
        assert got.disclosed_share == want["disclosed_share"]  # counts: exact
        assert got.sponsored_share == pytest.approx(want["sponsored_share"], rel=1e-12)
        if want["estimated"] is None:
            assert got.estimated_undisclosed is None and got.estimated_undisclosed_share is None
        else:
            assert got.estimated_undisclosed == pytest.approx(want["estimated"], rel=1e-12, abs=1e-12)
        assert got.flagged_posts == want["flagged"]
        assert [list(b) for b in got.brands] == [list(b) for b in want["brands"]], name
        assert [p.post_id for p in got.likely] == want["likely"], name
        checked += 1
    assert checked > 100
    if scored:  # the draw really exercises every part
        assert any(states[n].likely for n in names if states[n]) and any(states[n].brands for n in names)


class _One:
    """One influencer's row of a folded StateBatch."""

    def __init__(self, batch: StateBatch, g: int) -> None:
        self.n, self.m, self.z = int(batch.n[g]), float(batch.m[g]), float(batch.z[g])
        self.sponsor = batch.sponsor[g].copy()
        self.brands, self.likely = batch.brands[g], batch.likely[g]


def test_brands_are_bounded_keeping_the_most_counted() -> None:
    names = [f"b{i:03d}" for i in range(12)]
    # one influencer, eight disclosed posts: b000 named by all, b001 by the first four, the rest once
    brands = [("b000", "b001", names[i + 2]) if i < 4 else ("b000", names[i + 2]) for i in range(8)]
    segment = np.zeros(8, np.int64)
    kept = fold_brands(((),), segment, np.ones(8, bool), np.ones(8, bool), brands, limit=5)[0]
    assert len(kept) == 5
    assert kept[:2] == (("b000", 8, 8), ("b001", 4, 4))
    assert [b for b, _, _ in kept[2:]] == ["b002", "b003", "b004"]  # ties: by name
    # only counted posts count, and only disclosed ones count as disclosed
    counted = np.array([True, False, True])
    again = fold_brands(((),), np.zeros(3, np.int64), counted, np.array([True, True, False]),
                        [("x",), ("y",), ("x", "z")])  # fmt: skip
    assert again[0] == (("x", 2, 1), ("z", 1, 0))


def test_likely_posts_merge_across_batches_and_ignore_disclosed_or_unscored_posts() -> None:
    seg = np.zeros(4, np.int64)
    ids = np.array(["a", "b", "c", "d"])
    prob = np.array([0.9, 0.7, np.nan, 0.95])
    first = merge_likely(((),), seg, np.array([True, True, False, False]), prob, ids, np.zeros(4),
                         [("x",), (), (), ()], top_k=2)  # fmt: skip
    assert [p.post_id for p in first[0]] == ["a", "b"] and first[0][0].brands == ("x",)
    more = merge_likely(first, np.zeros(1, np.int64), np.array([True]), np.array([0.8]), np.array(["e"]),
                        np.zeros(1), [()], top_k=2)  # fmt: skip
    assert [p.post_id for p in more[0]] == ["a", "e"]
    tally = fold_sponsor(empty_sponsor(1), seg, np.array([False, False, True, True]), prob, THRESHOLD)
    figures = sponsorship(4, tally[0], (), more[0], THRESHOLD)
    assert figures.disclosed_posts == 2 and figures.flagged_posts == 2
    assert figures.estimated_undisclosed == pytest.approx(1.6)
    assert figures.sponsored_share == pytest.approx((2 + 1.6) / 4)


def test_a_post_names_its_sponsors_first_each_once() -> None:
    assert post_brands(("acme",), ("bob", "acme", "cafe")) == ("acme", "bob", "cafe")
    assert post_brands(None, ()) == ()
