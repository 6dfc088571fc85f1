"""How a materialised profile is shown in the API's answers: the pieces several routers return."""

from __future__ import annotations

from streaming.config import ServiceSettings
from streaming.service.schemas import InfluencerSummary, SimilarInfluencer
from streaming.service.store import Profile

DEFAULT_K = 10


def summary(profile: Profile) -> InfluencerSummary:
    return InfluencerSummary(
        influencer=profile.influencer,
        category=profile.category,
        confidence=profile.confidence,
        post_count=profile.post_count,
        model_version=profile.model_version,
        updated=profile.processing_time,
    )


def similar_item(profile: Profile, score: float) -> SimilarInfluencer:
    return SimilarInfluencer(
        influencer=profile.influencer,
        score=score,
        category=profile.category,
        confidence=profile.confidence,
        post_count=profile.post_count,
    )


def default_k(service: ServiceSettings) -> int:
    """How many similar influencers an answer lists when the request does not say."""
    return min(DEFAULT_K, service.max_k)
