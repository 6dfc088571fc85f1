"""Request and response bodies of the HTTP API (they make up the OpenAPI document)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from streaming.config import JobSettings, ServiceSettings
from streaming.limits import INFLUENCER_MAX_CHARS, base64_chars
from streaming.service.params import BRAND_MAX_CHARS, ENGAGEMENT_MAX, FOLLOWERS_MAX, POSTS_MAX


class TopPost(BaseModel):
    post_id: str
    score: float = Field(description="attention score s (recency-adjusted when tau is set)")
    weight: float = Field(description="softmax weight of the post among all the influencer's posts")
    caption: str
    ts: str | None = None
    image_uri: str | None = Field(None, description="where the job read the image")
    image_url: str | None = Field(None, description="this service's URL of the image, when it may serve it")


class Reach(BaseModel):
    """Reach and engagement, kept incrementally per influencer (null: not known)."""

    followers: int | None = Field(None, description="from the influencer-followers topic")
    engagement_rate: float | None = Field(None, description="(likes + comments) per post per follower")
    posts_per_week: float | None = Field(None, description="posts / max(weeks from first to last post, 1)")
    likes_mean: float | None = Field(None, description="mean likes of the posts that gave them")
    comments_mean: float | None = Field(None, description="mean comments of the posts that gave them")


class Sponsored(BaseModel):
    sponsored_share: float | None = Field(
        None,
        description="share of its posts that are paid: disclosed + estimated undisclosed (null: not known)",
    )


class InfluencerSummary(Reach, Sponsored):
    influencer: str
    category: str
    confidence: float = Field(description="probability of the predicted category")
    post_count: int
    model_version: str
    updated: str = Field(description="processing time of the latest profile update")


class Serving(BaseModel):
    model_version: str | None = Field(
        description="the model whose profiles are served: the service's configured model, else the one "
        "the job runs now (the newest profile's); profiles of other models are left out"
    )
    held_back: int = Field(description="profiles of other model versions held but not served")


class InfluencerPage(Serving):
    total: int = Field(description="influencers matching the filter")
    offset: int
    limit: int
    items: list[InfluencerSummary]


class BrandCount(BaseModel):
    brand: str = Field(description="the account (a sponsor, a tagged user or an @mention)")
    posts: int = Field(description="disclosed or flagged posts naming it")
    disclosed: int = Field(description="of which disclosed")


class LikelyUndisclosed(BaseModel):
    post_id: str
    probability: float = Field(description="P(paid post) by the model's sponsored head")
    ts: str
    brands: list[str] = Field(description="the accounts the post names: the evidence")


class SponsorshipView(BaseModel):
    """Paid posts, kept incrementally by the job (disclosed: sponsors, the sponsored flag or a marker
    such as #ad; undisclosed: estimated by the sponsored head, null without one)."""

    disclosed_posts: int
    disclosed_share: float
    estimated_undisclosed: float | None = Field(description="sum of P(paid) over the undisclosed posts")
    estimated_undisclosed_share: float | None
    sponsored_share: float = Field(description="(disclosed + estimated undisclosed) / posts")
    flagged_posts: int | None = Field(description="undisclosed posts scored at or over the threshold")
    threshold: float
    brands: list[BrandCount] = Field(description="brands worked with, most posts first")
    likely_undisclosed: list[LikelyUndisclosed] = Field(description="most likely first")


class InfluencerProfile(InfluencerSummary):
    probabilities: dict[str, float] = Field(description="every category, most likely first")
    top_posts: list[TopPost] = Field(description="the posts with the highest attention: the explanation")
    event_time: str = Field(description="event time of the latest post in the update")
    batch_id: int
    sponsorship: SponsorshipView | None = Field(None, description="null for a profile without the figures")


class HistoryPoint(BaseModel):
    time: str = Field(description="processing time of the profile update")
    event_time: str
    post_count: int
    category: str = Field(description="the category then")
    probability: float = Field(description="probability then of the influencer's current category")


class CategoryChange(BaseModel):
    time: str
    previous_category: str
    category: str
    post_count: int


class InfluencerHistory(BaseModel):
    influencer: str
    category: str = Field(description="the current category, whose probability the points give")
    model_version: str
    points: list[HistoryPoint] = Field(description="profile updates as posts arrived, oldest first (bounded)")
    changes: list[CategoryChange] = Field(description="reclassifications, oldest first (bounded)")


class SimilarInfluencer(Reach, Sponsored):
    influencer: str
    score: float = Field(description="cosine similarity (of pooled text vectors in a search)")
    category: str
    confidence: float
    post_count: int


class SearchResult(BaseModel):
    query: str
    model_version: str
    results: list[SimilarInfluencer] = Field(description="best first: what their posts are about")


class SimilarResult(BaseModel):
    influencer: str
    model_version: str
    similar: list[SimilarInfluencer]


# Base64 as Python's strict decoder accepts it: groups of four, padding only at the end.
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
MAX_USERTAGS = 60


ROSTER_MAX = 100


NUMBER_FIELDS = ("k", "followers_min", "followers_max", "engagement_min", "posts_min", "sponsored_max")


def posts_query_model(service: ServiceSettings, job: JobSettings) -> type[BaseModel]:
    """The body of POST /api/similar (posts or a roster) with its bounds from the settings, so the OpenAPI
    document declares exactly what is enforced: caption and hashtags as the job limits them, the
    image as base64 of at most job.max_image_bytes, posts and k as the service limits them."""

    class PostIn(BaseModel):
        caption: str = Field("", max_length=job.max_caption_chars, description="job.max_caption_chars")
        hashtags: list[str] = Field(
            default_factory=list, max_length=job.max_hashtags, description="job.max_hashtags"
        )
        usertags: list[str] = Field(default_factory=list, max_length=MAX_USERTAGS)
        image_b64: str | None = Field(
            None,
            pattern=BASE64_PATTERN,
            max_length=base64_chars(job.max_image_bytes // 3 * 3),  # whole groups within the limit
            description="the image file (JPEG, PNG, ...), base64, at most job.max_image_bytes; omit for "
            "text only. Bytes that do not decode as an image leave the post text-only (image_errors).",
        )

    class SimilarQuery(BaseModel):
        """Exactly one of ``posts`` and ``roster``; the filters of the lists apply to either."""

        # Declared in the schema too: exactly one of the two keys (neither may be null).
        model_config = {"json_schema_extra": {"oneOf": [{"required": ["posts"]}, {"required": ["roster"]}]}}

        posts: list[PostIn] = Field(  # type: ignore[assignment]
            None,
            min_length=1,
            max_length=service.max_posts_per_query,
            description="one (maybe hypothetical) influencer's posts, at most service.max_posts_per_query",
        )
        roster: list[Annotated[str, Field(min_length=1, max_length=INFLUENCER_MAX_CHARS)]] = Field(  # type: ignore[assignment]
            None,
            min_length=1,
            max_length=ROSTER_MAX,
            description=f"the brand's current influencers (at most {ROSTER_MAX}): lookalikes of them all",
        )
        k: int | None = Field(
            None, ge=1, le=service.max_k, description="how many (default 10, at most service.max_k)"
        )
        category: str | None = Field(None, max_length=100)
        followers_min: int | None = Field(None, ge=0, le=FOLLOWERS_MAX)
        followers_max: int | None = Field(None, ge=0, le=FOLLOWERS_MAX)
        engagement_min: float | None = Field(None, ge=0, le=ENGAGEMENT_MAX)
        posts_min: int | None = Field(None, ge=0, le=POSTS_MAX)
        sponsored_max: float | None = Field(None, ge=0, le=1)
        brand: str | None = Field(None, min_length=1, max_length=BRAND_MAX_CHARS)

        @model_validator(mode="before")
        @classmethod
        def numbers_are_numbers(cls, data: Any) -> Any:
            """JSON Schema's integer and number: 4.0 is the integer 4, but true and "4" are no numbers."""
            if isinstance(data, dict):
                for key in NUMBER_FIELDS:
                    if isinstance(data.get(key), bool | str):
                        raise ValueError(f"{key} must be a number")
            return data

        @model_validator(mode="after")
        def one_of_posts_and_roster(self) -> SimilarQuery:
            if ("posts" in self.model_fields_set) == ("roster" in self.model_fields_set):
                raise ValueError("give either posts or roster (exactly one of them)")
            return self

    return SimilarQuery


class RosterResult(BaseModel):
    model_version: str | None = Field(description="the served model, whose embeddings are compared")
    roster: list[str] = Field(description="the members found (served), whose mean direction is searched")
    missing: list[str] = Field(description="names given that no served profile has")
    similar: list[SimilarInfluencer] = Field(description="best first, roster members excluded")


class ImageError(BaseModel):
    post: int = Field(description="index of the post in the request")
    detail: str = Field(description="why its image was not used")


class PostsResult(BaseModel):
    model_version: str
    category: str = Field(description="the category the model gives these posts together")
    probabilities: dict[str, float]
    post_weights: list[float] = Field(description="attention weight of each posted item, in order")
    similar: list[SimilarInfluencer]
    image_errors: list[ImageError] = Field(
        default_factory=list,
        description="posts whose image could not be decoded: scored on their text",
    )


class CategoryCount(BaseModel):
    category: str
    influencers: int


class Health(BaseModel):
    status: str = Field(description="ok | starting (still reading the profiles topic) | degraded")
    kafka_connected: bool
    caught_up: bool
    profiles: int
    index_vectors: int
    model_version: str | None = Field(None, description="the model used for POST /api/similar")
    model_calibrated: bool | None = Field(
        None,
        description="whether that model's probabilities are calibrated by post count (profiles of this "
        "model version show a calibrated confidence)",
    )
    serving_model_version: str | None = Field(None, description="the model whose profiles are served")
    held_back: int = Field(0, description="profiles of other model versions, not served")
    last_error: str | None = None


class ErrorBody(BaseModel):
    """The body of every 4xx answer."""

    detail: str = Field(description="what was wrong, in words")
