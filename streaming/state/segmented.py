"""The online-softmax update for many influencers at once, in torch float64 (CPU or CUDA).

A micro-batch holds B posts of G influencers. Each post carries a segment id (its influencer's row
in the batch); the prior states of those G influencers are stacked into tensors. With scatter and
index-add ops, per segment g:

    m*_g = max(m_g, max_{j in g} s_j)
    Z_g  <- Z_g e^(m_g - m*_g) + sum_{j in g} e^(s_j - m*_g)
    S_g  <- S_g e^(m_g - m*_g) + sum_{j in g} e^(s_j - m*_g) h_j

the same math as ``online_softmax.update`` (which is the reference this is tested against), without
a Python loop over influencers. The top-k of posts is not handled here (it needs the posts'
metadata, and stays with the per-influencer numpy path).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from streaming.state.online_softmax import REFERENCE_EPOCH_S, AttentionState

DEFAULT_CHUNK_POSTS = 1 << 17  # posts per index_add pass: bounds the (chunk, H) temporary


@dataclass(frozen=True)
class SegmentedStates:
    """G stacked states. n (G,) int64, m (G,) f64, z (G,) f64, s (G, H) f64, all on one device.

    A row with n == 0 is empty (m = -inf, z = 0, s = 0).
    """

    n: torch.Tensor
    m: torch.Tensor
    z: torch.Tensor
    s: torch.Tensor

    def __post_init__(self) -> None:
        g = self.n.shape[0]
        assert self.m.shape == (g,) and self.z.shape == (g,), "m and z must be (G,) beside n (G,)"
        assert self.s.ndim == 2 and self.s.shape[0] == g, f"s must be ({g}, H), got {tuple(self.s.shape)}"
        assert self.m.dtype == self.z.dtype == self.s.dtype == torch.float64, "states are float64"

    @property
    def device(self) -> torch.device:
        return self.s.device

    @classmethod
    def empty(cls, groups: int, dim: int, device: str | torch.device = "cpu") -> SegmentedStates:
        f64 = {"dtype": torch.float64, "device": device}
        return cls(
            n=torch.zeros(groups, dtype=torch.int64, device=device),
            m=torch.full((groups,), float("-inf"), **f64),
            z=torch.zeros(groups, **f64),
            s=torch.zeros(groups, dim, **f64),
        )

    @classmethod
    def stack(
        cls, states: Sequence[AttentionState | None], dim: int, device: str | torch.device = "cpu"
    ) -> SegmentedStates:
        """Stack per-influencer states (None = a new influencer) into G rows."""
        n = np.array([st.n if st else 0 for st in states], dtype=np.int64)
        m = np.array([st.m if st else -np.inf for st in states], dtype=np.float64)
        z = np.array([st.z if st else 0.0 for st in states], dtype=np.float64)
        s = np.zeros((len(states), dim), dtype=np.float64)
        for row, st in enumerate(states):
            if st is not None:
                s[row] = st.s
        return cls(*(torch.from_numpy(a).to(device) for a in (n, m, z, s)))

    def to_numpy(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(n (G,), m (G,), z (G,), s (G, H)) as numpy arrays on the host."""
        return tuple(t.cpu().numpy() for t in (self.n, self.m, self.z, self.s))  # type: ignore[return-value]


def segmented_update(
    segment_ids: torch.Tensor,
    scores: torch.Tensor,
    h: torch.Tensor,
    prior: SegmentedStates,
    ts_seconds: torch.Tensor | None = None,
    tau_seconds: float | None = None,
    chunk_posts: int = DEFAULT_CHUNK_POSTS,
) -> SegmentedStates:
    """Fold B posts into G influencer states.

    segment_ids (B,) int64 in [0, G); scores (B,); h (B, H) (float32 is fine: its products with
    the float64 weights are float64, one chunk at a time); ts_seconds (B,) Unix seconds, needed
    when tau_seconds is set. Every tensor is moved to ``prior``'s device. Returns new states;
    ``prior`` is not modified.
    """
    device = prior.device
    groups, dim = prior.s.shape
    seg = segment_ids.to(device=device, dtype=torch.int64)
    b = seg.shape[0]
    assert seg.ndim == 1, f"segment_ids must be (B,), got {tuple(seg.shape)}"
    assert scores.shape == (b,), f"scores must be ({b},), got {tuple(scores.shape)}"
    assert h.shape == (b, dim), f"h must be ({b}, {dim}), got {tuple(h.shape)}"
    if b:
        lo, hi = torch.stack(torch.aminmax(seg)).tolist()  # one device sync
        if lo < 0 or hi >= groups:
            raise IndexError(f"segment ids must lie in [0, {groups}), got {lo}..{hi}")
    a = scores.to(device=device, dtype=torch.float64)  # (B,)
    if tau_seconds is not None:
        assert ts_seconds is not None and ts_seconds.shape == (b,), "tau_seconds needs ts_seconds (B,)"
        t = ts_seconds.to(device=device, dtype=torch.float64)
        a = a + (t - REFERENCE_EPOCH_S) / tau_seconds

    m_star = prior.m.scatter_reduce(0, seg, a, reduce="amax", include_self=True)  # (G,)
    seen = prior.n > 0
    # e^(m - m*) for influencers with history, 0 for new ones (where m = m* = -inf would give nan).
    carry = torch.where(seen, torch.exp(torch.where(seen, prior.m - m_star, 0.0)), 0.0)  # (G,)
    w = torch.exp(a - m_star[seg])  # (B,), each in (0, 1]
    z = prior.z * carry + torch.zeros_like(prior.z).index_add_(0, seg, w)
    s = prior.s * carry[:, None]  # (G, H)
    for start in range(0, b, chunk_posts):
        part = slice(start, start + chunk_posts)
        h_part = h[part].to(device=device, non_blocking=True)  # (chunk, H), float32 stays float32 here
        s.index_add_(0, seg[part], h_part * w[part, None])  # the product is float64 (w is)
    n = prior.n + torch.bincount(seg, minlength=groups)
    return SegmentedStates(n=n, m=m_star, z=z, s=s)


def embeddings(states: SegmentedStates) -> torch.Tensor:
    """(G, H) pooled embeddings S / Z (rows with no posts come out as nan)."""
    return states.s / states.z[:, None]
