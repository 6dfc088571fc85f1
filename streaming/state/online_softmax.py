"""The exact incremental attention state of one influencer (pure numpy, float64).

An influencer's embedding is attention pooling over every post it ever made,
``e = sum_j softmax(s)_j h_j``. Instead of keeping the posts, keep

    n  number of posts seen
    m  max_j s_j                      (the running shift that keeps exp() in range)
    Z  sum_j exp(s_j - m)
    S  sum_j exp(s_j - m) h_j         (H,)

New posts with scores s' (k,) and vectors h' (k, H) move the shift to m* = max(m, max s') and
rescale what was there:

    Z <- Z e^(m - m*) + sum e^(s' - m*)
    S <- S e^(m - m*) + sum e^(s' - m*) h'

and ``e = S / Z`` equals the full softmax recomputation to floating-point tolerance, whatever the
order and batching of the posts. Every exponent is <= 0, so nothing overflows however far apart the
scores are (terms that underflow to 0 are ones whose weight is below float64's resolution).

Recency: decaying a post's weight by exp(-(t_now - t_j) / tau) is the softmax over adjusted scores
``s_j + t_j / tau`` (the common exp(-t_now / tau) cancels), so decay stays exact and costs nothing.
Times enter as seconds since ``REFERENCE_EPOCH_S`` (2020-01-01T00:00:00Z), not since 1970, so that
t / tau stays small and keeps its precision: with tau = 1 hour, 2030 is still only ~9e4. The
reference is fixed: changing it would change every stored m. ``tau_seconds=None`` means all-time.

Beside the sums the state keeps the top-k posts by weight (their adjusted score orders them, since
weight_j = exp(s_j - m) / Z), to explain a classification. The top-k of all posts is always within
the old top-k plus the new posts, so this too is exact.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from streaming.errors import AttentionStateError
from streaming.events import utc_timestamp
from streaming.state.model_version import check_model_version

REFERENCE_EPOCH_S = 1_577_836_800.0  # 2020-01-01T00:00:00Z as Unix seconds
SNIPPET_CHARS = 160

# The fields of a state as plain values, in order (to_row / from_row).
STATE_FIELDS: tuple[str, ...] = (
    "n", "m", "z", "s",
    "top_post_id", "top_score", "top_image_uri", "top_caption", "top_ts",
    "model_version",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PostMeta:
    """What the top-k keeps of a post besides its score and time."""

    post_id: str
    image_uri: str | None = None
    caption: str = ""


@dataclass(frozen=True, slots=True)
class TopPost:
    post_id: str
    score: float  # adjusted score s + t / tau (plain s when tau is None)
    image_uri: str | None
    caption: str  # snippet
    ts_seconds: float  # Unix seconds


@dataclass(frozen=True, slots=True)
class AttentionState:
    """n, m, Z, S (H,) float64, the top-k posts (highest weight first) and the model version."""

    n: int
    m: float
    z: float
    s: np.ndarray = field(repr=False)  # (H,) float64
    top: tuple[TopPost, ...] = ()
    model_version: str = ""

    @property
    def dim(self) -> int:
        return int(self.s.shape[0])

    @classmethod
    def empty(cls, dim: int, model_version: str = "") -> AttentionState:
        """No posts yet: m = -inf, Z = 0, S = 0 (the identity of ``update``)."""
        return cls(n=0, m=-math.inf, z=0.0, s=np.zeros(dim, np.float64), model_version=model_version)


def adjusted_scores(
    scores: np.ndarray, ts_seconds: np.ndarray | None, tau_seconds: float | None
) -> np.ndarray:
    """(k,) attention scores -> (k,) float64 scores with recency folded in: s + (t - epoch) / tau."""
    s = np.asarray(scores, dtype=np.float64)
    if tau_seconds is None:
        return s
    if not tau_seconds > 0:
        raise AttentionStateError(f"tau_seconds must be > 0 or None (all-time), got {tau_seconds}")
    if ts_seconds is None:
        raise AttentionStateError("recency (tau_seconds set) needs the posts' times")
    t = np.asarray(ts_seconds, dtype=np.float64)
    assert t.shape == s.shape, f"ts_seconds must be {s.shape}, got {t.shape}"
    return s + (t - REFERENCE_EPOCH_S) / tau_seconds


def softmax_weights(
    scores: np.ndarray, ts_seconds: np.ndarray | None = None, tau_seconds: float | None = None
) -> np.ndarray:
    """(n,) scores (and times) -> (n,) float64 attention weights over all n posts, summing to 1."""
    a = adjusted_scores(scores, ts_seconds, tau_seconds)
    assert a.ndim == 1 and a.shape[0] > 0, f"need (n,) scores with n > 0, got {a.shape}"
    w = np.exp(a - a.max())
    return w / w.sum()


def recompute(
    scores: np.ndarray,
    h: np.ndarray,
    ts_seconds: np.ndarray | None = None,
    tau_seconds: float | None = None,
) -> np.ndarray:
    """The batch reference: softmax over all n posts at once. scores (n,), h (n, H) -> (H,) float64."""
    h64 = np.asarray(h, dtype=np.float64)
    assert h64.ndim == 2 and h64.shape[0] == np.shape(scores)[0], (
        f"h must be (n, H) beside scores (n,), got {h64.shape} and {np.shape(scores)}"
    )
    return softmax_weights(scores, ts_seconds, tau_seconds) @ h64  # (n,) @ (n, H) -> (H,)


def update(
    state: AttentionState | None,
    scores: np.ndarray,
    h: np.ndarray,
    ts_seconds: np.ndarray | None,
    post_meta: Sequence[PostMeta] | None,
    tau_seconds: float | None,
    top_k: int,
    *,
    model_version: str | None = None,
    snippet_chars: int = SNIPPET_CHARS,
) -> AttentionState:
    """Fold k new posts into an influencer's state; returns the new state (the old one is untouched).

    scores (k,), h (k, H), ts_seconds (k,) Unix seconds (may be None when neither tau nor the top-k
    needs them), post_meta k entries (may be None only when top_k == 0: the top-k is then not
    tracked). ``model_version`` is written into a new state and must equal an existing state's
    version: a state built from another model's h and s cannot be continued (CheckpointMismatchError).
    """
    s_new = np.asarray(scores, dtype=np.float64)
    h_new = np.asarray(h, dtype=np.float64)
    k = s_new.shape[0]
    assert s_new.ndim == 1, f"scores must be (k,), got {s_new.shape}"
    assert h_new.ndim == 2 and h_new.shape[0] == k, f"h must be ({k}, H), got {h_new.shape}"
    assert top_k >= 0, f"top_k must be >= 0, got {top_k}"
    if state is None:
        state = AttentionState.empty(h_new.shape[1], model_version or "")
    elif model_version is not None:
        check_model_version(state.model_version, model_version, "the influencer state")
    assert h_new.shape[1] == state.dim, f"h has {h_new.shape[1]} dims, the state has {state.dim}"
    if k == 0:
        return state
    a = adjusted_scores(s_new, ts_seconds, tau_seconds)  # (k,)
    ts = np.zeros(k) if ts_seconds is None else np.asarray(ts_seconds, dtype=np.float64)
    assert ts.shape == (k,), f"ts_seconds must be ({k},), got {ts.shape}"
    a_max = float(a.max())
    if not (math.isfinite(a_max) and math.isfinite(float(a.min()))):
        raise AttentionStateError("post scores and times must be finite")

    m_star = max(state.m, a_max)
    w = np.exp(a - m_star)  # (k,), each in [0, 1]; tiny terms underflow to 0 silently
    carry = math.exp(state.m - m_star) if state.n else 0.0
    z = state.z * carry + float(w.sum())
    s = state.s * carry + w @ h_new  # (H,)
    if not np.isfinite(s).all():
        raise AttentionStateError("post vectors h must be finite")

    top = state.top
    if top_k:
        if ts_seconds is None:
            raise AttentionStateError("top-k tracking needs the posts' times")
        if post_meta is None or len(post_meta) != k:
            raise AttentionStateError(f"top-k tracking needs {k} post_meta entries, got {post_meta!r:.80}")
        fresh = [
            TopPost(meta.post_id, float(score), meta.image_uri, meta.caption[:snippet_chars], float(t))
            for meta, score, t in zip(post_meta, a, ts, strict=True)
        ]
        top = tuple(sorted((*state.top, *fresh), key=_top_order)[:top_k])
    return AttentionState(state.n + k, m_star, z, s, top, state.model_version)


def _top_order(post: TopPost) -> tuple[float, str]:
    # Highest weight first; ties by post id so that replays order the same way.
    return (-post.score, post.post_id)


def embedding(state: AttentionState) -> np.ndarray:
    """The attention-pooled embedding S / Z, (H,) float64."""
    if state.n == 0:
        raise AttentionStateError("an influencer with no posts has no embedding")
    return state.s / state.z


def top_weights(state: AttentionState) -> np.ndarray:
    """(len(top),) softmax weights of the top-k posts among *all* the influencer's posts."""
    scores = np.array([p.score for p in state.top], dtype=np.float64)
    return np.exp(scores - state.m) / state.z if state.n else scores


def top_posts(state: AttentionState) -> list[dict[str, Any]]:
    """The top-k as `top_posts` items of the profile event (weight in [0, 1], ts as ISO-8601 UTC)."""
    return [
        {
            "post_id": post.post_id,
            "score": post.score,
            "weight": min(1.0, max(0.0, float(weight))),
            "image_uri": post.image_uri,
            "caption": post.caption,
            "ts": utc_timestamp(datetime.fromtimestamp(post.ts_seconds, UTC)),
        }
        for post, weight in zip(state.top, top_weights(state), strict=True)
    ]


def to_row(state: AttentionState) -> dict[str, Any]:
    """Plain values in STATE_FIELDS order (lists for arrays).

    float64 values survive the round trip bit for bit.
    """
    return {
        "n": int(state.n),
        "m": float(state.m),
        "z": float(state.z),
        "s": state.s.tolist(),
        "top_post_id": [p.post_id for p in state.top],
        "top_score": [p.score for p in state.top],
        "top_image_uri": [p.image_uri for p in state.top],
        "top_caption": [p.caption for p in state.top],
        "top_ts": [p.ts_seconds for p in state.top],
        "model_version": state.model_version,
    }


def from_row(row: Mapping[str, Any] | Sequence[Any]) -> AttentionState:
    """Inverse of ``to_row``; also takes the values as a sequence in STATE_FIELDS order."""
    if not isinstance(row, Mapping):
        assert len(row) == len(STATE_FIELDS), f"a state row has {len(STATE_FIELDS)} values, got {len(row)}"
        row = dict(zip(STATE_FIELDS, row, strict=True))
    columns = [list(row[name]) for name in STATE_FIELDS[4:9]]
    top = tuple(
        TopPost(str(pid), float(score), None if uri is None else str(uri), str(caption), float(ts))
        for pid, score, uri, caption, ts in zip(*columns, strict=True)
    )
    return AttentionState(
        n=int(row["n"]),
        m=float(row["m"]),
        z=float(row["z"]),
        s=np.array(row["s"], dtype=np.float64),
        top=top,
        model_version=str(row["model_version"]),
    )
