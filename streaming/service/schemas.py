"""Request and response bodies of the HTTP API (they make up the OpenAPI document)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TopPost(BaseModel):
    post_id: str
    score: float = Field(description="attention score s (recency-adjusted when tau is set)")
    weight: float = Field(description="softmax weight of the post among all the influencer's posts")
    caption: str
    ts: str | None = None
    image_uri: str | None = Field(None, description="where the job read the image")
    image_url: str | None = Field(None, description="this service's URL of the image, when it may serve it")


class InfluencerSummary(BaseModel):
    influencer: str
    category: str
    confidence: float = Field(description="probability of the predicted category")
    post_count: int
    model_version: str
    updated: str = Field(description="processing time of the latest profile update")


class InfluencerPage(BaseModel):
    total: int = Field(description="influencers matching the filter")
    offset: int
    limit: int
    items: list[InfluencerSummary]


class InfluencerProfile(InfluencerSummary):
    probabilities: dict[str, float] = Field(description="every category, most likely first")
    top_posts: list[TopPost] = Field(description="the posts with the highest attention: the explanation")
    event_time: str = Field(description="event time of the latest post in the update")
    batch_id: int


class SimilarInfluencer(BaseModel):
    influencer: str
    score: float = Field(description="cosine similarity of the pooled embeddings")
    category: str
    confidence: float
    post_count: int


class SimilarResult(BaseModel):
    influencer: str
    model_version: str
    similar: list[SimilarInfluencer]


class PostIn(BaseModel):
    caption: str = Field("", max_length=5000)
    hashtags: list[str] = Field(default_factory=list, max_length=60)
    usertags: list[str] = Field(default_factory=list, max_length=60)
    image_b64: str | None = Field(None, description="the image file, base64; omit for text only")


class PostsQuery(BaseModel):
    posts: list[PostIn] = Field(min_length=1, description="the posts of one (maybe hypothetical) influencer")
    k: int | None = Field(None, ge=1, description="how many (default 10, at most service.max_k)")


class PostsResult(BaseModel):
    model_version: str
    category: str = Field(description="the category the model gives these posts together")
    probabilities: dict[str, float]
    post_weights: list[float] = Field(description="attention weight of each posted item, in order")
    similar: list[SimilarInfluencer]


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
    last_error: str | None = None


class ErrorBody(BaseModel):
    detail: str
