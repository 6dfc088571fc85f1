"""Reach and engagement kept per influencer as running sums (pure numpy, float64, no Spark).

A post event may carry ``likes`` and ``comments`` (both optional). Per influencer the state keeps a
tally of six numbers, updated by one vectorised fold per micro-batch:

    likes_sum, likes_posts          sum of the likes given, and how many posts gave them
    comments_sum, comments_posts    the same for comments
    first_ts, last_ts               earliest and latest post time (Unix seconds)

Sums, counts, a minimum and a maximum are associative and commutative, so folding the posts batch by
batch, in any order, gives exactly the figures of one computation over all of them. From the tally:

    likes_mean      = likes_sum / likes_posts               (None when no post said)
    comments_mean   = comments_sum / comments_posts
    posts_per_week  = n / max((last_ts - first_ts) / 1 week, 1)

(a span under a week counts as one week, so a new influencer's first posts are not a huge rate), and
with the followers (published apart, they are not in post events)

    engagement_rate = (likes_mean + comments_mean) / followers

that is (likes + comments) per post per follower; a missing mean counts as 0 beside a present one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TALLY_FIELDS: tuple[str, ...] = (
    "likes_sum", "likes_posts", "comments_sum", "comments_posts", "first_ts", "last_ts",
)  # fmt: skip
TALLY_WIDTH = len(TALLY_FIELDS)
WEEK_S = 7 * 86400.0
_LIKES, _LIKES_N, _COMMENTS, _COMMENTS_N, _FIRST, _LAST = range(TALLY_WIDTH)


def empty_tally(groups: int) -> np.ndarray:
    """(G, 6) tallies of influencers with no posts: zero sums, first = +inf, last = -inf."""
    tally = np.zeros((groups, TALLY_WIDTH), np.float64)
    tally[:, _FIRST], tally[:, _LAST] = np.inf, -np.inf
    return tally


def fold_tally(
    prior: np.ndarray, segment: np.ndarray, likes: np.ndarray, comments: np.ndarray, ts_seconds: np.ndarray
) -> np.ndarray:
    """Fold B posts into G tallies. prior (G, 6); segment (B,) rows of prior; likes and comments (B,)
    float64 with NaN where the post gave none; ts_seconds (B,). Returns new (G, 6); prior untouched."""
    groups = prior.shape[0]
    assert prior.shape == (groups, TALLY_WIDTH), f"tallies must be (G, {TALLY_WIDTH}), got {prior.shape}"
    b = segment.shape[0]
    assert likes.shape == comments.shape == ts_seconds.shape == (b,), "likes, comments and ts must be (B,)"
    out = prior.copy()
    for value, total, count in ((likes, _LIKES, _LIKES_N), (comments, _COMMENTS, _COMMENTS_N)):
        given = ~np.isnan(value)
        out[:, total] += np.bincount(segment[given], weights=value[given], minlength=groups)
        out[:, count] += np.bincount(segment[given], minlength=groups)
    np.minimum.at(out[:, _FIRST], segment, ts_seconds)
    np.maximum.at(out[:, _LAST], segment, ts_seconds)
    return out


@dataclass(frozen=True, slots=True)
class Engagement:
    """An influencer's engagement figures, as published with the profile."""

    likes_mean: float | None
    comments_mean: float | None
    posts_per_week: float
    first_post_s: float  # Unix seconds
    last_post_s: float

    def rate(self, followers: int | None) -> float | None:
        """(likes + comments) per post per follower; None without followers or any count."""
        if not followers or (self.likes_mean is None and self.comments_mean is None):
            return None
        return ((self.likes_mean or 0.0) + (self.comments_mean or 0.0)) / followers


def engagement(n: int, tally: np.ndarray) -> Engagement:
    """The figures of one influencer with ``n`` posts and its (6,) tally."""
    assert n > 0 and tally.shape == (TALLY_WIDTH,), f"need n > 0 and a (6,) tally, got {n}, {tally.shape}"
    weeks = max((tally[_LAST] - tally[_FIRST]) / WEEK_S, 1.0)
    return Engagement(
        likes_mean=float(tally[_LIKES] / tally[_LIKES_N]) if tally[_LIKES_N] else None,
        comments_mean=float(tally[_COMMENTS] / tally[_COMMENTS_N]) if tally[_COMMENTS_N] else None,
        posts_per_week=float(n / weeks),
        first_post_s=float(tally[_FIRST]),
        last_post_s=float(tally[_LAST]),
    )
