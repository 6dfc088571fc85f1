"""Profile events for the service tests, valid against the profile schema, and a store to hold them.

The synthetic influencers form three clusters by category: the embedding of ``<category>_<i>`` is
its category's direction plus a little noise, so each one's nearest neighbours share its category.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from jsonschema import Draft202012Validator
from PIL import Image

from streaming.events import load_schema, utc_timestamp
from streaming.service.store import ProfileStore

CATEGORIES = ("beauty", "food", "travel")
LABELS = ("beauty", "family", "fashion", "fitness", "food", "interior", "other", "pet", "travel")
DIM = 8
PER_CATEGORY = 4
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def png_bytes(colour: tuple[int, int, int] = (200, 30, 60), size: int = 24) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def profile_event(
    influencer: str,
    category: str,
    embedding: np.ndarray,
    *,
    confidence: float = 0.8,
    post_count: int = 10,
    model_version: str = "v-test",
    top_posts: list[dict[str, Any]] | None = None,
    batch_id: int = 0,
    processing_time: datetime = T0,
    text_vector: np.ndarray | None = None,
    engagement: dict[str, Any] | None = None,
    sponsorship: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A profile event as the job writes it; asserted valid against profile.schema.json."""
    others = [label for label in LABELS if label != category]
    rest = (1.0 - confidence) / len(others)
    event = {
        "schema": 1,
        "influencer": influencer,
        "category": category,
        "probabilities": {category: confidence, **dict.fromkeys(others, rest)},
        "embedding": [float(x) for x in embedding],
        "post_count": post_count,
        "top_posts": top_posts
        if top_posts is not None
        else [
            {
                "post_id": f"{influencer}-p1",
                "score": 2.0,
                "weight": 0.6,
                "caption": f"{category} day",
                "image_uri": None,
                "ts": iso(processing_time - timedelta(hours=1)),
            },
        ],
        "model_version": model_version,
        "event_time": iso(processing_time - timedelta(minutes=5)),
        "processing_time": iso(processing_time),
        "batch_id": batch_id,
    }
    if text_vector is not None:
        event["text_vector"] = [float(x) for x in text_vector]
    if engagement is not None:
        event["engagement"] = engagement
    if sponsorship is not None:
        event["sponsorship"] = sponsorship
    errors = list(Draft202012Validator(load_schema("profile")).iter_errors(event))
    assert not errors, f"fixture event violates the profile schema: {errors[0].message}"
    return event


def sponsorship_figures(
    post_count: int,
    disclosed: int,
    estimated: float | None,
    brands: dict[str, tuple[int, int]],
    likely: list[tuple[str, float, list[str]]] = (),  # type: ignore[assignment]
    threshold: float = 0.5,
) -> dict[str, Any]:
    """A profile's sponsorship figures as the job publishes them (streaming.job.sinks.profiles)."""
    return {
        "disclosed_posts": disclosed,
        "disclosed_share": disclosed / post_count,
        "estimated_undisclosed": estimated,
        "estimated_undisclosed_share": None if estimated is None else estimated / post_count,
        "sponsored_share": (disclosed + (estimated or 0.0)) / post_count,
        "flagged_posts": None if estimated is None else len(likely),
        "threshold": threshold,
        "brands": [
            {"brand": b, "posts": n, "disclosed": d}
            for b, (n, d) in sorted(brands.items(), key=lambda item: (-item[1][0], item[0]))
        ],
        "likely_undisclosed": [
            {
                "post_id": post_id,
                "probability": p,
                "ts": utc_timestamp(T0 - timedelta(days=2)),
                "brands": named,
            }
            for post_id, p, named in likely
        ],
    }


def cluster_sponsorship(c: int, i: int, name: str, post_count: int) -> dict[str, Any]:
    """Sponsorship of ``<category c>_<i>``: more paid posts the higher i; every even i worked with
    acme, every travel influencer with bolt.trips; the first of each category has no head's estimate."""
    brands = {"acme": (1 + i, i)} if i % 2 == 0 else {}
    if c == 2:
        brands["bolt.trips"] = (2, 2)
    disclosed = min(i + len(brands), post_count)
    estimated = None if i == 0 else 0.5 * i
    likely = [] if estimated is None else [(f"{name}-p0", 0.9, sorted(brands))]
    return sponsorship_figures(post_count, disclosed, estimated, brands, likely)


def cluster_events(image_uri: str | None = None) -> list[dict[str, Any]]:
    """PER_CATEGORY influencers per category, embeddings clustered by category."""
    rng = np.random.default_rng(7)
    events = []
    for c, category in enumerate(CATEGORIES):
        direction = np.zeros(DIM)
        direction[c] = 1.0
        for i in range(PER_CATEGORY):
            name = f"{category}_{i}"
            posts = [
                {
                    "post_id": f"{name}-p{j}",
                    "score": 3.0 - j,
                    "weight": round(0.5 / (j + 1), 3),
                    "caption": f"{category} post {j} of {name}",
                    "image_uri": image_uri,
                    "ts": iso(T0 - timedelta(days=j)),
                }
                for j in range(3)
            ]
            events.append(
                profile_event(
                    name,
                    category,
                    direction + 0.05 * rng.standard_normal(DIM),
                    confidence=0.5 + 0.1 * i,
                    post_count=5 + 3 * i + c,
                    top_posts=posts,
                    processing_time=T0 + timedelta(minutes=c * PER_CATEGORY + i),
                    sponsorship=cluster_sponsorship(c, i, name, 5 + 3 * i + c),
                )
            )
    return events


def new_store() -> ProfileStore:
    from streaming.similarity.index import SimilarityIndex

    return ProfileStore(lambda dim: SimilarityIndex(dim))
