"""What a brand filters and sorts influencers by, and the figures it reads (pure: no HTTP, no Kafka).

A served influencer is its latest profile plus its followers (a topic of their own, joined here in
the service: a new follower count shows at once, without a post of the influencer passing through
the job). ``Figures`` are what lists show and sort by; ``Filters`` the conditions of a list, a
search and a lookalike query, all applied the same way by ``Filters.admits``. The sponsorship
conditions read the profile's sponsorship figures (streaming.state.sponsorship): ``sponsored_max``
the share of its posts that are paid (disclosed plus estimated undisclosed), ``brand`` a brand it
worked with (one of its counted brands).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from streaming.state.engagement import Engagement
from streaming.state.sponsorship import Sponsorship
from training.sponsorship.markers import brand_mentions

SortKey = Literal[
    "confidence", "post_count", "name", "updated",
    "followers", "engagement_rate", "posts_per_week", "likes_mean", "comments_mean", "sponsored_share",
]  # fmt: skip
SORT_KEYS: tuple[str, ...] = SortKey.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Figures:
    """One influencer's reach and engagement as served (None: not known)."""

    followers: int | None
    likes_mean: float | None
    comments_mean: float | None
    posts_per_week: float | None
    engagement_rate: float | None  # (likes + comments) per post per follower

    @classmethod
    def of(cls, engagement: Engagement | None, followers: int | None) -> Figures:
        if engagement is None:
            return cls(followers, None, None, None, None)
        return cls(
            followers,
            engagement.likes_mean,
            engagement.comments_mean,
            engagement.posts_per_week,
            engagement.rate(followers),
        )


@dataclass(frozen=True, slots=True)
class Filters:
    """Conditions on served influencers; None means no condition. A condition on a figure the
    influencer does not have (no followers known, no likes given) is not met."""

    category: str | None = None
    followers_min: int | None = None
    followers_max: int | None = None
    engagement_min: float | None = None
    posts_min: int | None = None
    sponsored_max: float | None = None  # share of posts, 0..1
    brand: str | None = None  # an account name, as brand_account normalises it

    @property
    def on_figures(self) -> bool:
        return any(v is not None for v in (self.followers_min, self.followers_max, self.engagement_min))

    def admits(
        self, category: str, post_count: int, figures: Figures, sponsorship: Sponsorship | None = None
    ) -> bool:
        if self.category is not None and category != self.category:
            return False
        if self.sponsored_max is not None or self.brand is not None:
            if sponsorship is None:
                return False
            if self.sponsored_max is not None and sponsorship.sponsored_share > self.sponsored_max:
                return False
            if self.brand is not None and not any(b == self.brand for b, _, _ in sponsorship.brands):
                return False
        if self.posts_min is not None and post_count < self.posts_min:
            return False
        followers = figures.followers
        if self.followers_min is not None and (followers is None or followers < self.followers_min):
            return False
        if self.followers_max is not None and (followers is None or followers > self.followers_max):
            return False
        rate = figures.engagement_rate
        return self.engagement_min is None or (rate is not None and rate >= self.engagement_min)


def brand_account(text: str) -> str:
    """A brand as typed (``@Acme``, `` acme``) -> the account name the job counts (``acme``); ""
    for text that names no account."""
    named = brand_mentions([text], "")
    return named[0] if named else ""


def sort_value(key: str) -> Callable[[Any, Figures], Any]:
    """(profile, figures) -> the value ``key`` sorts by (None for a figure not known)."""
    by_profile: dict[str, Callable[[Any], Any]] = {
        "confidence": lambda p: p.confidence,
        "post_count": lambda p: p.post_count,
        "name": lambda p: p.influencer.casefold(),
        "updated": lambda p: p.processing_time,
        "sponsored_share": lambda p: None if p.sponsorship is None else p.sponsorship.sponsored_share,
    }
    if key in by_profile:
        pick = by_profile[key]
        return lambda profile, _: pick(profile)
    assert key in SORT_KEYS, f"sort must be one of {SORT_KEYS}, got {key!r}"
    return lambda _, figures: getattr(figures, key)
