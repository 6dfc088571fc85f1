"""How a materialised profile is shown in the API's answers: the pieces several routers return."""

from __future__ import annotations

from streaming.config import ServiceSettings
from streaming.service.filters import Figures
from streaming.service.schemas import InfluencerSummary, Reach, SimilarInfluencer
from streaming.service.store import Profile

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


def summary(profile: Profile, figures: Figures | None = None) -> InfluencerSummary:
    return InfluencerSummary(
        **reach(figures),
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
        influencer=profile.influencer,
        score=score,
        category=profile.category,
        confidence=profile.confidence,
        post_count=profile.post_count,
    )


def default_k(service: ServiceSettings) -> int:
    """How many similar influencers an answer lists when the request does not say."""
    return min(DEFAULT_K, service.max_k)
