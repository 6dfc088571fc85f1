"""The filters of every list as query parameters, declared once with their bounds (OpenAPI)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from streaming.service.filters import Filters

FOLLOWERS_MAX = 10**10  # far above any account
POSTS_MAX = 10**9
ENGAGEMENT_MAX = 1000.0  # (likes + comments) per post per follower; real ones are below 1


def filter_params(
    category: str | None = Query(None, max_length=100, description="only this category"),
    followers_min: int | None = Query(None, ge=0, le=FOLLOWERS_MAX, description="minimum followers"),
    followers_max: int | None = Query(None, ge=0, le=FOLLOWERS_MAX, description="maximum followers"),
    engagement_min: float | None = Query(
        None, ge=0, le=ENGAGEMENT_MAX, description="minimum (likes + comments) / post / follower"
    ),
    posts_min: int | None = Query(None, ge=0, le=POSTS_MAX, description="at least this many posts profiled"),
) -> Filters:
    return Filters(category, followers_min, followers_max, engagement_min, posts_min)


FiltersDep = Annotated[Filters, Depends(filter_params)]
