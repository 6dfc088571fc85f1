"""The incremental attention state equals the full softmax recomputation, however posts are batched."""

from __future__ import annotations

import math

import numpy as np
import pytest

from streaming.errors import AttentionStateError, CheckpointMismatchError
from streaming.state import (
    REFERENCE_EPOCH_S,
    STATE_FIELDS,
    AttentionState,
    PostMeta,
    embedding,
    from_row,
    recompute,
    to_row,
    top_posts,
    top_weights,
    update,
)

DIM = 12


def _posts(rng: np.random.Generator, n: int, score_scale: float = 3.0) -> dict[str, np.ndarray]:
    return {
        "scores": rng.normal(0.0, score_scale, n),
        "h": np.maximum(rng.normal(size=(n, DIM)), 0.0),  # (n, H) ReLU outputs
        # two years of posts from mid-2022, in random order
        "ts": REFERENCE_EPOCH_S + 8e7 + rng.uniform(0, 6.3e7, n),
    }


def _metas(start: int, stop: int) -> list[PostMeta]:
    return [
        PostMeta(f"p{j:05d}", f"images/{j}.jpg", f"caption of post {j} " * 20) for j in range(start, stop)
    ]


def _feed(
    posts: dict[str, np.ndarray], rng: np.random.Generator, tau: float | None, top_k: int
) -> AttentionState:
    """Feed the posts in randomly sized batches (1 to 17 posts), as micro-batches would."""
    n = posts["scores"].shape[0]
    state = None
    start = 0
    while start < n:
        stop = min(n, start + int(rng.integers(1, 18)))
        part = slice(start, stop)
        state = update(
            state, posts["scores"][part], posts["h"][part], posts["ts"][part], _metas(start, stop), tau, top_k
        )
        start = stop
    assert state is not None
    return state


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_batches_equal_full_recomputation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    posts = _posts(rng, 400)
    state = _feed(posts, rng, tau=None, top_k=5)
    expected = recompute(posts["scores"], posts["h"])
    assert state.n == 400
    assert np.max(np.abs(embedding(state) - expected)) <= 1e-9
    assert state.m == posts["scores"].max()


def test_huge_score_ranges_do_not_overflow() -> None:
    rng = np.random.default_rng(3)
    posts = _posts(rng, 300)
    posts["scores"] = rng.uniform(-5e4, 5e4, 300)  # exp() of these overflows float64 a thousandfold
    posts["scores"][:3] = [4e4, 4e4 + 0.5, 4e4 - 0.25]  # a few posts share almost all the weight
    with np.errstate(over="raise", invalid="raise"):
        state = _feed(posts, rng, tau=None, top_k=3)
        got = embedding(state)
    expected = recompute(posts["scores"], posts["h"])
    assert np.isfinite(got).all()
    assert np.max(np.abs(got - expected)) <= 1e-9


def test_recency_equals_time_decayed_softmax() -> None:
    rng = np.random.default_rng(4)
    posts = _posts(rng, 250)
    tau = 30 * 86400.0
    state = _feed(posts, rng, tau=tau, top_k=5)
    # The definition, written independently: weights exp(s_j) * exp(-(t_now - t_j) / tau), normalised.
    t_now = posts["ts"].max()
    log_w = posts["scores"] - (t_now - posts["ts"]) / tau
    w = np.exp(log_w - log_w.max())
    decayed = (w / w.sum()) @ posts["h"]
    assert np.max(np.abs(embedding(state) - decayed)) <= 1e-9
    assert np.max(np.abs(embedding(state) - recompute(posts["scores"], posts["h"], posts["ts"], tau))) <= 1e-9
    # Decay really changes the answer here (so the check above is not vacuous).
    assert np.max(np.abs(embedding(state) - recompute(posts["scores"], posts["h"]))) > 1e-3


def test_top_k_holds_the_highest_weight_posts_with_their_weights() -> None:
    rng = np.random.default_rng(5)
    posts = _posts(rng, 200)
    tau = 7 * 86400.0
    state = _feed(posts, rng, tau=tau, top_k=4)
    weights = np.exp(posts["scores"] + (posts["ts"] - REFERENCE_EPOCH_S) / tau)
    weights /= weights.sum()
    best = np.argsort(-weights)[:4]
    assert [p.post_id for p in state.top] == [f"p{j:05d}" for j in best]
    np.testing.assert_allclose(top_weights(state), weights[best], rtol=1e-12)
    first = top_posts(state)[0]
    assert first["image_uri"] == f"images/{best[0]}.jpg"
    assert len(first["caption"]) == 160 and first["caption"].startswith(f"caption of post {best[0]} ")
    assert first["ts"].endswith("Z") and 0 < first["weight"] <= 1


def test_state_round_trips_through_its_row_bit_for_bit() -> None:
    rng = np.random.default_rng(6)
    posts = _posts(rng, 50)
    state = update(
        None, posts["scores"], posts["h"], posts["ts"], _metas(0, 50), 86400.0, 5, model_version="v7"
    )
    row = to_row(state)
    assert list(row) == list(STATE_FIELDS)
    again = from_row(row)
    assert again.n == state.n and again.m == state.m and again.z == state.z
    assert np.array_equal(again.s, state.s) and again.top == state.top and again.model_version == "v7"
    assert from_row(tuple(row.values())).top == state.top
    # The restored state continues exactly like the original.
    more = _posts(rng, 5)
    a = update(state, more["scores"], more["h"], more["ts"], _metas(50, 55), 86400.0, 5)
    b = update(again, more["scores"], more["h"], more["ts"], _metas(50, 55), 86400.0, 5)
    assert np.array_equal(a.s, b.s) and a.z == b.z and a.top == b.top


def test_model_version_mismatch_is_refused() -> None:
    rng = np.random.default_rng(7)
    posts = _posts(rng, 3)
    state = update(None, posts["scores"], posts["h"], posts["ts"], None, None, 0, model_version="old")
    with pytest.raises(CheckpointMismatchError, match="fresh checkpoint"):
        update(state, posts["scores"], posts["h"], posts["ts"], None, None, 0, model_version="new")


def test_empty_batch_keeps_the_state_and_bad_scores_are_refused() -> None:
    assert update(None, np.zeros(0), np.zeros((0, DIM)), np.zeros(0), [], None, 3).n == 0
    empty = AttentionState.empty(DIM)
    assert empty.m == -math.inf
    with pytest.raises(AttentionStateError):
        embedding(empty)
    with pytest.raises(AttentionStateError, match="finite"):
        update(empty, np.array([np.nan]), np.ones((1, DIM)), np.zeros(1), None, None, 0)
    with pytest.raises(AttentionStateError, match="finite"):
        update(empty, np.array([0.0, np.inf]), np.ones((2, DIM)), np.zeros(2), None, None, 0)
    with pytest.raises(AttentionStateError, match="finite"):
        update(empty, np.zeros(1), np.full((1, DIM), np.nan), np.zeros(1), None, None, 0)
    with pytest.raises(AttentionStateError, match="times"):
        update(empty, np.zeros(1), np.ones((1, DIM)), None, None, 3600.0, 0)  # type: ignore[arg-type]
