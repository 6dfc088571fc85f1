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
    sponsored: bool  # the paid-partnership tag: a sponsor account, or is_paid_partnership
    is_video: bool
    image_paths: tuple[Path, ...]  # images of the post that exist on disk (or as archive members)
    accessibility_caption: str | None = None
    # Sponsorship (training.sponsorship.markers derives the last two from the caption and tags):
    sponsors: tuple[str, ...] = ()  # paid-partnership accounts (edge_media_to_sponsor_user), lower case
    mentions: tuple[str, ...] = ()  # accounts the post names: tagged users, then caption @mentions
    disclosures: tuple[str, ...] = ()  # disclosure markers written in it: '#ad', 'paid partnership'...


# PostRecord's fields in order: the columns of the Spark reader's posts frame too.
POST_RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(PostRecord))
