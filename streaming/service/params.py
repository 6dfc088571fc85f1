"""The filters of every list as query parameters, declared once with their bounds (OpenAPI)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from streaming.limits import INFLUENCER_MAX_CHARS
from streaming.service.filters import Filters, brand_account

FOLLOWERS_MAX = 10**10  # far above any account
POSTS_MAX = 10**9
ENGAGEMENT_MAX = 1000.0  # (likes + comments) per post per follower; real ones are below 1
BRAND_MAX_CHARS = INFLUENCER_MAX_CHARS + 1  # an account name, maybe with its '@'


def filter_params(
    category: str | None = Query(None, max_length=100, description="only this category"),
    followers_min: int | None = Query(None, ge=0, le=FOLLOWERS_MAX, description="minimum followers"),
    followers_max: int | None = Query(None, ge=0, le=FOLLOWERS_MAX, description="maximum followers"),
    engagement_min: float | None = Query(
        None, ge=0, le=ENGAGEMENT_MAX, description="minimum (likes + comments) / post / follower"
    ),
    posts_min: int | None = Query(None, ge=0, le=POSTS_MAX, description="at least this many posts profiled"),
    sponsored_max: float | None = Query(
        None, ge=0, le=1, description="at most this share of paid posts (disclosed + estimated undisclosed)"
    ),
    brand: str | None = Query(
        None,
        min_length=1,
        max_length=BRAND_MAX_CHARS,
        description="worked with this brand (account, @ optional)",
    ),
) -> Filters:
    return Filters(
        category,
        followers_min,
        followers_max,
        engagement_min,
        posts_min,
        sponsored_max,
        None if brand is None else brand_account(brand),
    )


FiltersDep = Annotated[Filters, Depends(filter_params)]
