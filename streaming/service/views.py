"""How a materialised profile is shown in the API's answers: the pieces several routers return."""

from __future__ import annotations

from datetime import UTC, datetime

from streaming.config import ServiceSettings
from streaming.events import utc_timestamp
from streaming.service.filters import Figures
from streaming.service.schemas import (
    BrandCount,
    InfluencerSummary,
    LikelyUndisclosed,
    Reach,
    SimilarInfluencer,
    SponsorshipView,
)
from streaming.service.store import Profile
from streaming.state.sponsorship import Sponsorship

DEFAULT_K = 10


def reach(figures: Figures | None) -> dict[str, float | int | None]:
    if figures is None:
        return {}
    return Reach(
        followers=figures.followers,
        engagement_rate=figures.engagement_rate,
        posts_per_week=figures.posts_per_week,
        likes_mean=figures.likes_mean,
        comments_mean=figures.comments_mean,
    ).model_dump()


def sponsored_share(profile: Profile) -> float | None:
    return None if profile.sponsorship is None else profile.sponsorship.sponsored_share


def summary(profile: Profile, figures: Figures | None = None) -> InfluencerSummary:
    return InfluencerSummary(
        **reach(figures),
        sponsored_share=sponsored_share(profile),
        influencer=profile.influencer,
        category=profile.category,
        confidence=profile.confidence,
        post_count=profile.post_count,
        model_version=profile.model_version,
        updated=profile.processing_time,
    )


def similar_item(profile: Profile, score: float, figures: Figures | None = None) -> SimilarInfluencer:
    return SimilarInfluencer(
        **reach(figures),
        sponsored_share=sponsored_share(profile),
        influencer=profile.influencer,
        score=score,
        category=profile.category,
        confidence=profile.confidence,
        post_count=profile.post_count,
    )


def sponsorship_view(figures: Sponsorship | None) -> SponsorshipView | None:
    if figures is None:
        return None
    return SponsorshipView(
        disclosed_posts=figures.disclosed_posts,
        disclosed_share=figures.disclosed_share,
        estimated_undisclosed=figures.estimated_undisclosed,
        estimated_undisclosed_share=figures.estimated_undisclosed_share,
        sponsored_share=figures.sponsored_share,
        flagged_posts=figures.flagged_posts,
        threshold=figures.threshold,
        brands=[BrandCount(brand=b, posts=posts, disclosed=shown) for b, posts, shown in figures.brands],
        likely_undisclosed=[
            LikelyUndisclosed(
                post_id=p.post_id,
                probability=p.probability,
                ts=utc_timestamp(datetime.fromtimestamp(p.ts_seconds, UTC)),
                brands=list(p.brands),
            )
            for p in figures.likely
        ],
    )


def default_k(service: ServiceSettings) -> int:
    """How many similar influencers an answer lists when the request does not say."""
    return min(DEFAULT_K, service.max_k)
