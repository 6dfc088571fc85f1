"""Typed records read from a dataset: one per influencer, one per post."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True, slots=True)
class InfluencerRecord:
    username: str
    category: str  # canonical, see categories.CATEGORIES
    followers: int
    followees: int
    posts: int


@dataclass(frozen=True, slots=True)
class PostRecord:
    influencer: str
    label: str | None  # the influencer's canonical category (None when unknown)
    post_id: str
    ts: datetime  # timezone-aware, UTC
    caption: str
    hashtags: tuple[str, ...]
    usertags: tuple[str, ...]
    likes: int | None
    comments: int | None
    sponsored: bool
    is_video: bool
    image_paths: tuple[Path, ...]  # images of the post that exist on disk (or as archive members)
    accessibility_caption: str | None = None


# PostRecord's fields in order: the columns of the Spark reader's posts frame too.
POST_RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(PostRecord))
