"""One micro-batch folded into the states of every influencer it touches, vectorised (pure, no Spark).

    folded = fold_batch(prior, posts, tau_seconds=None, top_k=5)
    folded.states        # the G new states (StateBatch), in prior's order
    folded.embeddings    # (G, H) float64, S / Z
    folded.texts         # (G, T) float64, the attention-pooled text features (T = 0 without text)

``prior`` holds the G influencers of the batch (stacked, a new influencer with n = 0); ``posts`` the
batch's B posts with the row of their influencer in ``prior``. The sums n, m, Z, S move with one
segmented online-softmax update over all B posts (streaming.state.segmented, float64); the top-k
posts of every influencer are merged with one sort over the old top-k plus the new posts.

The same update, with the same weights, pools each post's text feature (the text encoder's output,
before the projection): the sums of ``[h | text]`` move together, so the pooled text vector is
``S_text / Z``, exactly the softmax over all posts in the text encoder's space. Beside them the
engagement tally (streaming.state.engagement) folds the likes, comments and post times, and the
sponsorship state (streaming.state.sponsorship) the disclosed posts, the sponsored probabilities,
the brands and the likely-undisclosed posts. The result
equals ``online_softmax.update`` applied influencer by influencer (the tests hold it to that), at
O(B H) cost for the batch instead of a Python call per influencer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from streaming.state.engagement import TALLY_WIDTH, empty_tally, fold_tally
from streaming.state.online_softmax import SNIPPET_CHARS, TopPost, adjusted_scores
from streaming.state.ranking import top_k_per_group
from streaming.state.segmented import SegmentedStates, segmented_update
from streaming.state.sponsorship import (
    SPONSOR_WIDTH,
    Brands,
    LikelyPost,
    empty_sponsor,
    flagged,
    fold_brands,
    fold_sponsor,
    merge_likely,
)


@dataclass(frozen=True)
class StateBatch:
    """G influencer states, stacked. n (G,) int64, m/z (G,) float64, s (G, H) float64; top: G tuples
    of TopPost, highest weight first; category: what was last published (None before the first);
    text (G, T) float64 the text sums beside s (T = 0: no text modality); tally (G, 6) the
    engagement tally; sponsor (G, 4) the sponsorship tally, brands and likely its brands and
    likely-undisclosed posts (streaming.state.sponsorship). Left out, text, tally and the
    sponsorship state are those of influencers without posts."""

    names: tuple[str, ...]
    n: np.ndarray
    m: np.ndarray
    z: np.ndarray
    s: np.ndarray
    top: tuple[tuple[TopPost, ...], ...]
    category: tuple[str | None, ...]
    text: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    tally: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    sponsor: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]
    brands: tuple[Brands, ...] = field(default=None, repr=False)  # type: ignore[assignment]
    likely: tuple[tuple[LikelyPost, ...], ...] = field(default=None, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        g = len(self.names)
        for name, empty in (("text", lambda: np.zeros((g, 0))), ("tally", lambda: empty_tally(g)),
                            ("sponsor", lambda: empty_sponsor(g)), ("brands", lambda: ((),) * g),
                            ("likely", lambda: ((),) * g)):  # fmt: skip
            if getattr(self, name) is None:
                object.__setattr__(self, name, empty())
        assert self.sponsor.shape == (g, SPONSOR_WIDTH), f"sponsor must be ({g}, {SPONSOR_WIDTH})"
        assert len(self.brands) == len(self.likely) == g, "one brand list and one likely list per influencer"
        assert self.text.ndim == 2 and self.text.shape[0] == g, f"text must be ({g}, T)"
        assert self.tally.shape == (g, TALLY_WIDTH), f"tally must be ({g}, {TALLY_WIDTH})"
        assert self.n.shape == self.m.shape == self.z.shape == (g,), f"n, m, z must be ({g},)"
        assert self.s.ndim == 2 and self.s.shape[0] == g, f"s must be ({g}, H), got {self.s.shape}"
        assert len(self.top) == len(self.category) == g, "one top-k and one category per influencer"

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def new(cls, names: Sequence[str], dim: int, text_dim: int = 0) -> StateBatch:
        """Influencers with no posts yet (m = -inf, Z = 0, S = 0)."""
        g = len(names)
        return cls(
            tuple(names), np.zeros(g, np.int64), np.full(g, -np.inf), np.zeros(g), np.zeros((g, dim)),
            ((),) * g, (None,) * g, np.zeros((g, text_dim)), empty_tally(g), empty_sponsor(g), ((),) * g,
            ((),) * g,
        )  # fmt: skip


@dataclass(frozen=True)
class PostBatch:
    """B posts, each with ``segment``: the row of its influencer in the prior StateBatch."""

    segment: np.ndarray  # (B,) int64
    scores: np.ndarray  # (B,) attention scores s
    h: np.ndarray  # (B, H) float32 or float64
    ts_seconds: np.ndarray  # (B,) Unix seconds
    post_id: np.ndarray  # (B,) str
    image_uri: Sequence[str | None]  # B entries
    caption: Sequence[str | None]  # B entries
    text: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]  # (B, T)
    likes: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]  # (B,) NaN: not given
    comments: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]  # (B,) NaN too
    disclosed: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]  # (B,) bool
    probability: np.ndarray = field(default=None, repr=False)  # type: ignore[assignment]  # (B,) NaN: unscored
    brands: Sequence[tuple[str, ...]] = field(default=None, repr=False)  # type: ignore[assignment]  # B

    def __post_init__(self) -> None:
        b = self.segment.shape[0]
        for name, empty in (("text", np.zeros((b, 0))), ("likes", np.full(b, np.nan)),
                            ("comments", np.full(b, np.nan)), ("disclosed", np.zeros(b, bool)),
                            ("probability", np.full(b, np.nan)), ("brands", ((),) * b)):  # fmt: skip
            if getattr(self, name) is None:
                object.__setattr__(self, name, empty)
        assert self.disclosed.shape == self.probability.shape == (b,) and len(self.brands) == b, (
            "disclosed, probability and brands must be (B,)"
        )
        assert self.text.ndim == 2 and self.text.shape[0] == b, f"text must be ({b}, T)"
        assert self.likes.shape == self.comments.shape == (b,), "likes and comments must be (B,)"
        assert self.scores.shape == self.ts_seconds.shape == self.post_id.shape == (b,), "(B,) columns"
        assert self.h.ndim == 2 and self.h.shape[0] == b, f"h must be ({b}, H), got {self.h.shape}"
        assert len(self.image_uri) == len(self.caption) == b, "B image URIs and captions"


@dataclass(frozen=True)
class FoldedBatch:
    states: StateBatch
    embeddings: np.ndarray  # (G, H) float64
    texts: np.ndarray  # (G, T) float64


def fold_batch(
    prior: StateBatch,
    posts: PostBatch,
    tau_seconds: float | None,
    top_k: int,
    snippet_chars: int = SNIPPET_CHARS,
    threshold: float = 0.5,
    likely_k: int = 5,
) -> FoldedBatch:
    """Fold every post of the batch into its influencer's state; every influencer must have a post.
    ``threshold`` flags undisclosed posts, ``likely_k`` of them are kept (streaming.state.sponsorship)."""
    groups, dim = prior.s.shape
    assert posts.h.shape[1] == dim, f"posts have {posts.h.shape[1]} dims, the states {dim}"
    text_dim = prior.text.shape[1]
    assert posts.text.shape[1] == text_dim, f"posts text dims != {text_dim}"
    adjusted = adjusted_scores(posts.scores, posts.ts_seconds, tau_seconds)  # (B,) s + t / tau
    if not np.isfinite(adjusted).all():
        from streaming.errors import AttentionStateError

        raise AttentionStateError("post scores and times must be finite")
    seg = torch.from_numpy(np.ascontiguousarray(posts.segment, dtype=np.int64))
    # h and the text feature share the weights: one update over [h | text] (B, H + T)
    vectors = np.concatenate([posts.h, posts.text], axis=1) if text_dim else posts.h
    sums = np.concatenate([prior.s, prior.text], axis=1) if text_dim else prior.s
    stacked = SegmentedStates(
        *(torch.from_numpy(np.ascontiguousarray(a)) for a in (prior.n, prior.m, prior.z, sums))
    )
    new = segmented_update(
        seg,
        torch.from_numpy(adjusted),  # already adjusted: no tau inside
        torch.from_numpy(np.ascontiguousarray(vectors)),
        stacked,
    )
    n, m, z, both = new.to_numpy()
    s, text = both[:, :dim], both[:, dim:]
    assert (n > prior.n).all(), "every influencer of the batch needs at least one new post"
    top = merge_top_k(prior.top, posts, adjusted, top_k, snippet_chars)
    tally = fold_tally(prior.tally, posts.segment, posts.likes, posts.comments, posts.ts_seconds)
    sponsor = fold_sponsor(prior.sponsor, posts.segment, posts.disclosed, posts.probability, threshold)
    is_flagged = flagged(posts.disclosed, posts.probability, threshold)
    brands = fold_brands(
        prior.brands, posts.segment, posts.disclosed | is_flagged, posts.disclosed, posts.brands
    )
    likely = merge_likely(prior.likely, posts.segment, is_flagged, posts.probability, posts.post_id,
                          posts.ts_seconds, posts.brands, likely_k)  # fmt: skip
    states = StateBatch(prior.names, n, m, z, s, top, prior.category, text, tally, sponsor, brands, likely)
    return FoldedBatch(states, s / z[:, None], text / z[:, None])


def merge_top_k(
    prior: Sequence[tuple[TopPost, ...]],
    posts: PostBatch,
    adjusted: np.ndarray,
    top_k: int,
    snippet_chars: int = SNIPPET_CHARS,
) -> tuple[tuple[TopPost, ...], ...]:
    """Per influencer, the ``top_k`` highest adjusted scores among its old top-k and its new posts
    (ties by post id), with one lexicographic sort over all candidates of the batch."""
    old = [(g, post) for g, tops in enumerate(prior) for post in tops]
    b = posts.segment.shape[0]
    seg = np.concatenate([posts.segment, np.array([g for g, _ in old], np.int64)])  # (C,)
    score = np.concatenate([adjusted, np.array([p.score for _, p in old], np.float64)])
    ids = np.concatenate([posts.post_id.astype(str), np.array([p.post_id for _, p in old], dtype=str)])
    keep = top_k_per_group(seg, score, ids, top_k)  # grouped by influencer, best first
    out: list[list[TopPost]] = [[] for _ in prior]
    for i in keep.tolist():
        if i < b:
            caption = posts.caption[i] or ""
            post = TopPost(str(ids[i]), float(score[i]), posts.image_uri[i], caption[:snippet_chars],
                           float(posts.ts_seconds[i]))  # fmt: skip
        else:
            post = old[i - b][1]
        out[int(seg[i])].append(post)
    return tuple(tuple(tops) for tops in out)
