"""Paid posts kept per influencer: disclosed, estimated undisclosed, the brands, the likely ads (pure numpy).

Per post the job knows whether it is *disclosed* (it has paid-partnership sponsors, ``sponsored`` is
true, or it carries a disclosure marker such as #ad; streaming.validate) and, when the model has a
sponsored head, the probability ``p`` that it is a paid post. An undisclosed post with
``p >= threshold`` (``sponsorship.undisclosed_threshold``) is *flagged*. Per influencer the state
keeps, folded once per micro-batch:

    tally (4,) float64
        disclosed_posts         posts that disclose a partnership
        scored_posts            posts with a probability (0 under a model without the head)
        estimated_undisclosed   sum of p over the undisclosed posts: the expected number of
                                undisclosed paid posts
        flagged_posts           undisclosed posts with p >= threshold
    brands                      account -> (posts, disclosed posts): the brands worked with
    likely                      the top-k flagged posts by p (ties by post id): id, p, time, brands

*Brands worked with*: the accounts a post names (its sponsors, then its mentions: tagged users and
@mentions) count when the post is disclosed (the partnership says so) or flagged (the head says it
looks like one). Accounts named in posts that look organic (friends, places) do not count. At most
BRANDS_MAX brands are kept per influencer; past that the least counted are dropped (ties: the last
by name), and a dropped brand named again counts from then on.

The tally is sums and counts, so it is exactly the figures of one pass over all the posts whatever
the batching; the brand counts are exact too while an influencer names at most BRANDS_MAX brands,
and the top-k is the same merge as the attention's top posts. From them, with n posts:

    disclosed_share             = disclosed_posts / n
    estimated_undisclosed_share = estimated_undisclosed / n     (None without scored posts)
    sponsored_share             = (disclosed_posts + estimated_undisclosed) / n
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from streaming.limits import BRANDS_MAX, POST_BRANDS_MAX
from streaming.state.ranking import top_k_per_group

SPONSOR_FIELDS: tuple[str, ...] = (
    "disclosed_posts",
    "scored_posts",
    "estimated_undisclosed",
    "flagged_posts",
)
SPONSOR_WIDTH = len(SPONSOR_FIELDS)
_DISCLOSED, _SCORED, _ESTIMATED, _FLAGGED = range(SPONSOR_WIDTH)

# One influencer's brands: (account, posts, disclosed posts), most posts first, then by account.
Brands = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True, slots=True)
class LikelyPost:
    """An undisclosed post the head scored over the threshold: the evidence."""

    post_id: str
    probability: float
    ts_seconds: float  # Unix seconds
    brands: tuple[str, ...]  # the accounts it names


def empty_sponsor(groups: int) -> np.ndarray:
    """(G, 4) tallies of influencers with no posts."""
    return np.zeros((groups, SPONSOR_WIDTH), np.float64)


def post_brands(sponsors: Iterable[str] | None, mentions: Iterable[str] | None) -> tuple[str, ...]:
    """The accounts one post names, sponsors first, each once, at most POST_BRANDS_MAX (both lists
    already normalised by streaming.validate.accounts)."""
    return tuple(dict.fromkeys((*(sponsors or ()), *(mentions or ()))))[:POST_BRANDS_MAX]


def flagged(disclosed: np.ndarray, probability: np.ndarray, threshold: float) -> np.ndarray:
    """(B,) bool: undisclosed posts scored at or over ``threshold`` (an unscored NaN never is)."""
    with np.errstate(invalid="ignore"):
        return ~disclosed & (probability >= threshold)


def fold_sponsor(
    prior: np.ndarray, segment: np.ndarray, disclosed: np.ndarray, probability: np.ndarray, threshold: float
) -> np.ndarray:
    """Fold B posts into G tallies. prior (G, 4); segment (B,) rows of prior; disclosed (B,) bool;
    probability (B,) float64, NaN where not scored. Returns new (G, 4); prior untouched."""
    groups = prior.shape[0]
    assert prior.shape == (groups, SPONSOR_WIDTH), f"tallies must be (G, {SPONSOR_WIDTH}), got {prior.shape}"
    assert segment.shape == disclosed.shape == probability.shape, "segment, disclosed, probability: (B,)"
    scored = ~np.isnan(probability)
    undisclosed = scored & ~disclosed
    out = prior.copy()
    out[:, _DISCLOSED] += np.bincount(segment, weights=disclosed.astype(np.float64), minlength=groups)
    out[:, _SCORED] += np.bincount(segment[scored], minlength=groups)
    out[:, _ESTIMATED] += np.bincount(
        segment[undisclosed], weights=probability[undisclosed], minlength=groups
    )
    out[:, _FLAGGED] += np.bincount(segment[flagged(disclosed, probability, threshold)], minlength=groups)
    return out


def fold_brands(
    prior: Sequence[Brands],
    segment: np.ndarray,
    counted: np.ndarray,
    disclosed: np.ndarray,
    brands: Sequence[tuple[str, ...]],
    limit: int = BRANDS_MAX,
) -> tuple[Brands, ...]:
    """The G brand lists with the brands of the ``counted`` posts added (disclosed or flagged ones),
    each bounded to ``limit``. segment, counted, disclosed (B,); brands: B tuples of accounts."""
    rows = np.flatnonzero(counted)
    if not rows.size:
        return tuple(prior)
    added: dict[int, dict[str, list[int]]] = {}
    for i in rows.tolist():  # only the counted posts, and only their few accounts
        tally = added.setdefault(int(segment[i]), {})
        for brand in brands[i]:
            counts = tally.setdefault(brand, [0, 0])
            counts[0] += 1
            counts[1] += int(disclosed[i])
    out = list(prior)
    for g, new in added.items():
        merged = {brand: [posts, shown] for brand, posts, shown in prior[g]}
        for brand, (posts, shown) in new.items():
            counts = merged.setdefault(brand, [0, 0])
            counts[0] += posts
            counts[1] += shown
        ranked = sorted(merged.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
        out[g] = tuple((brand, posts, shown) for brand, (posts, shown) in ranked)
    return tuple(out)


def merge_likely(
    prior: Sequence[tuple[LikelyPost, ...]],
    segment: np.ndarray,
    is_flagged: np.ndarray,
    probability: np.ndarray,
    post_id: np.ndarray,
    ts_seconds: np.ndarray,
    brands: Sequence[tuple[str, ...]],
    top_k: int,
) -> tuple[tuple[LikelyPost, ...], ...]:
    """Per influencer, the ``top_k`` most probable among its kept likely posts and its new flagged ones."""
    new = np.flatnonzero(is_flagged)
    if not new.size:
        return tuple(prior)
    old = [(g, post) for g, posts in enumerate(prior) for post in posts]
    group = np.concatenate([segment[new], np.array([g for g, _ in old], np.int64)])  # (C,)
    score = np.concatenate([probability[new], np.array([p.probability for _, p in old], np.float64)])
    ids = np.concatenate([post_id[new].astype(str), np.array([p.post_id for _, p in old], dtype=str)])
    out: list[list[LikelyPost]] = [[] for _ in prior]
    for c in top_k_per_group(group, score, ids, top_k).tolist():
        if c < new.size:
            i = int(new[c])
            post = LikelyPost(str(post_id[i]), float(probability[i]), float(ts_seconds[i]), tuple(brands[i]))
        else:
            post = old[c - new.size][1]
        out[int(group[c])].append(post)
    return tuple(tuple(posts) for posts in out)


@dataclass(frozen=True, slots=True)
class Sponsorship:
    """An influencer's sponsorship figures, as published with the profile."""

    disclosed_posts: int
    disclosed_share: float
    estimated_undisclosed: float | None  # None: no post was scored (a model without the head)
    estimated_undisclosed_share: float | None
    sponsored_share: float  # disclosed and estimated undisclosed together
    flagged_posts: int | None
    threshold: float
    brands: Brands
    likely: tuple[LikelyPost, ...]


def sponsorship(
    n: int, tally: np.ndarray, brands: Brands, likely: tuple[LikelyPost, ...], threshold: float
) -> Sponsorship:
    """The figures of one influencer with ``n`` posts and its (4,) tally."""
    assert n > 0 and tally.shape == (SPONSOR_WIDTH,), f"need n > 0 and a (4,) tally, got {n}, {tally.shape}"
    scored = tally[_SCORED] > 0
    estimated = float(tally[_ESTIMATED]) if scored else None
    return Sponsorship(
        disclosed_posts=int(tally[_DISCLOSED]),
        disclosed_share=float(tally[_DISCLOSED] / n),
        estimated_undisclosed=estimated,
        estimated_undisclosed_share=None if estimated is None else estimated / n,
        sponsored_share=float((tally[_DISCLOSED] + (estimated or 0.0)) / n),
        flagged_posts=int(tally[_FLAGGED]) if scored else None,
        threshold=threshold,
        brands=brands,
        likely=likely,
    )
