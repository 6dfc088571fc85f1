"""The batched torch update equals the per-influencer numpy update."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from streaming.state import REFERENCE_EPOCH_S, AttentionState, update
from streaming.state.segmented import SegmentedStates, embeddings, segmented_update

DIM = 8
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _numpy_reference(
    priors: list[AttentionState | None],
    seg: np.ndarray,
    scores: np.ndarray,
    h: np.ndarray,
    ts: np.ndarray,
    tau,
) -> list[AttentionState | None]:
    out = list(priors)
    for g in range(len(priors)):
        rows = np.flatnonzero(seg == g)
        if rows.size:
            out[g] = update(out[g], scores[rows], h[rows], ts[rows], None, tau, 0)
    return out


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("tau", [None, 3 * 86400.0])
def test_segmented_equals_numpy_update(device: str, tau: float | None) -> None:
    rng = np.random.default_rng(11)
    groups, posts = 40, 700
    # Half the influencers have history; some of them get no new posts; some are brand new.
    priors: list[AttentionState | None] = [None] * groups
    for g in range(0, groups, 2):
        k = int(rng.integers(1, 6))
        priors[g] = update(
            None,
            rng.normal(0, 30, k),
            rng.random((k, DIM)),
            REFERENCE_EPOCH_S + rng.uniform(0, 1e7, k),
            None,
            tau,
            0,
        )
    seg = rng.integers(0, groups - 5, posts)  # the last 5 influencers get nothing
    scores = rng.normal(0, 30, posts)  # wide range: the shift must move in both directions
    h = rng.random((posts, DIM)).astype(np.float32)
    ts = REFERENCE_EPOCH_S + rng.uniform(0, 1e7, posts)

    got = segmented_update(
        torch.from_numpy(seg),
        torch.from_numpy(scores),
        torch.from_numpy(h),
        SegmentedStates.stack(priors, DIM, device),
        ts_seconds=torch.from_numpy(ts),
        tau_seconds=tau,
        chunk_posts=64,  # several index_add passes
    )
    want = _numpy_reference(priors, seg, scores, h, ts, tau)
    n, m, z, s = got.to_numpy()
    for g, state in enumerate(want):
        if state is None:
            assert n[g] == 0 and m[g] == -np.inf and z[g] == 0
            continue
        assert n[g] == state.n
        assert abs(m[g] - state.m) <= 1e-12 * max(1.0, abs(state.m))  # CUDA may fuse s + t / tau
        assert abs(z[g] - state.z) <= 1e-12 * state.z
        assert np.max(np.abs(s[g] / z[g] - state.s / state.z)) <= 1e-9
    pooled = embeddings(got).cpu().numpy()
    assert np.isnan(pooled[groups - 1]).all() and np.isfinite(pooled[0]).all()


def test_segment_ids_out_of_range_are_refused() -> None:
    prior = SegmentedStates.empty(3, DIM)
    with pytest.raises(IndexError):
        segmented_update(torch.tensor([0, 3]), torch.zeros(2), torch.zeros(2, DIM), prior)
