"""The batch fold equals the per-influencer update, and the incremental result equals the recompute."""

from __future__ import annotations

import numpy as np
import pytest

from streaming.state import REFERENCE_EPOCH_S, PostMeta, recompute, update
from streaming.state.fold import PostBatch, StateBatch, fold_batch

DIM = 8


def _posts(rng: np.random.Generator, segment: np.ndarray, first_id: int) -> PostBatch:
    b = segment.shape[0]
    return PostBatch(
        segment=segment.astype(np.int64),
        scores=rng.normal(0, 3, b),
        h=rng.normal(0, 1, (b, DIM)).astype(np.float32),
        ts_seconds=REFERENCE_EPOCH_S + rng.uniform(0, 400 * 86400, b),
        post_id=np.array([f"p{first_id + i:05d}" for i in range(b)]),
        image_uri=[f"file:///img/{first_id + i}.jpg" for i in range(b)],
        caption=[f"caption {first_id + i} " * 20 for i in range(b)],
    )


def _stack(states: dict, names: list[str]) -> StateBatch:
    """StateBatch of ``names`` from per-influencer AttentionStates (missing: new)."""
    batch = StateBatch.new(names, DIM)
    top = list(batch.top)
    for g, name in enumerate(names):
        st = states.get(name)
        if st is not None:
            batch.n[g], batch.m[g], batch.z[g], batch.s[g], top[g] = st.n, st.m, st.z, st.s, st.top
    return StateBatch(batch.names, batch.n, batch.m, batch.z, batch.s, tuple(top), batch.category)


@pytest.mark.parametrize("tau", [None, 20 * 86400.0])
def test_fold_of_hundreds_of_influencers_equals_per_influencer_update(tau: float | None) -> None:
    rng = np.random.default_rng(3)
    names = [f"inf{g:04d}" for g in range(600)]
    reference: dict = {}
    folded_states: dict = {}
    history: dict[str, list] = {name: [] for name in names}
    next_id = 0
    for _ in range(4):  # four micro-batches; each touches a random subset of influencers
        touched = sorted(rng.choice(len(names), size=400, replace=False).tolist())
        segment = np.sort(rng.choice(len(touched), size=1500))
        segment[: len(touched)] = np.arange(len(touched))  # every touched influencer has a post
        segment.sort()
        batch_names = [names[g] for g in touched]
        posts = _posts(rng, segment, next_id)
        next_id += segment.shape[0]
        folded = fold_batch(_stack(folded_states, batch_names), posts, tau, top_k=3)
        for g, name in enumerate(batch_names):
            rows = np.flatnonzero(posts.segment == g)
            meta = [PostMeta(str(posts.post_id[i]), posts.image_uri[i], posts.caption[i]) for i in rows]
            reference[name] = update(reference.get(name), posts.scores[rows], posts.h[rows],
                                     posts.ts_seconds[rows], meta, tau, 3)  # fmt: skip
            history[name].append((posts.scores[rows], posts.h[rows], posts.ts_seconds[rows]))
            st = folded.states
            folded_states[name] = type(reference[name])(
                int(st.n[g]), float(st.m[g]), float(st.z[g]), st.s[g].copy(), st.top[g]
            )
    for name, ref in reference.items():
        got = folded_states[name]
        assert got.n == ref.n
        np.testing.assert_allclose(got.s / got.z, ref.s / ref.z, rtol=0, atol=1e-12)
        assert [p.post_id for p in got.top] == [p.post_id for p in ref.top]
        assert [p.caption for p in got.top] == [p.caption for p in ref.top]
        scores, h, ts = (np.concatenate(parts) for parts in zip(*history[name], strict=True))
        np.testing.assert_allclose(got.s / got.z, recompute(scores, h, ts, tau), rtol=0, atol=1e-9)


def test_fold_keeps_names_and_categories_and_needs_a_post_per_influencer() -> None:
    rng = np.random.default_rng(5)
    prior = StateBatch.new(["a", "b"], DIM)
    folded = fold_batch(prior, _posts(rng, np.array([0, 1, 1]), 0), None, top_k=2)
    assert folded.states.names == ("a", "b") and list(folded.states.n) == [1, 2]
    assert folded.embeddings.shape == (2, DIM)
    with pytest.raises(AssertionError, match="at least one new post"):
        fold_batch(prior, _posts(rng, np.array([0, 0]), 10), None, top_k=2)


@pytest.mark.parametrize("tau", [None, 20 * 86400.0])
def test_pooled_text_vector_and_tally_equal_their_batch_recompute(tau: float | None) -> None:
    """Three micro-batches over 50 influencers: the text sums share the weights of h, so S_text / Z
    is the softmax over every post in the text space; the tally equals sums over every post."""
    from dataclasses import replace

    from streaming.state.engagement import engagement

    rng = np.random.default_rng(11)
    names = [f"inf{g:03d}" for g in range(50)]
    text_dim = 24
    states = StateBatch.new(names, DIM, text_dim)
    seen = []
    for first in (0, 400, 800):
        segment = np.sort(np.r_[np.arange(len(names)), rng.integers(0, len(names), 350)])
        posts = _posts(rng, segment, first)
        b = segment.shape[0]
        likes = rng.integers(0, 5000, b).astype(np.float64)
        likes[rng.random(b) < 0.2] = np.nan  # some posts do not say
        comments = rng.integers(0, 90, b).astype(np.float64)
        posts = replace(posts, text=rng.normal(0, 1, (b, text_dim)).astype(np.float32), likes=likes,
                        comments=comments)  # fmt: skip
        folded = fold_batch(states, posts, tau, top_k=2)
        states = folded.states
        seen.append(posts)
    for g in range(len(names)):
        rows = [(p, np.flatnonzero(p.segment == g)) for p in seen]
        scores, ts = (np.concatenate([getattr(p, f)[r] for p, r in rows]) for f in ("scores", "ts_seconds"))
        text = np.concatenate([p.text[r] for p, r in rows])
        np.testing.assert_allclose(folded.texts[g], recompute(scores, text, ts, tau), rtol=0, atol=1e-9)
        likes, comments = (np.concatenate([getattr(p, f)[r] for p, r in rows]) for f in ("likes", "comments"))
        got = engagement(int(states.n[g]), states.tally[g])
        assert got.likes_mean == pytest.approx(np.nanmean(likes), rel=1e-12)
        assert got.comments_mean == pytest.approx(comments.mean(), rel=1e-12)
        weeks = max((ts.max() - ts.min()) / (7 * 86400), 1.0)
        assert got.posts_per_week == pytest.approx(ts.size / weeks, rel=1e-12)
        assert (got.first_post_s, got.last_post_s) == (ts.min(), ts.max())
