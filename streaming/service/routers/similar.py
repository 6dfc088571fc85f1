"""POST /api/similar: influencers similar to a set of posts sent in the request.

The posts go through the same model as the streaming job: encode -> post step -> attention pool
-> classify, and the pooled embedding is searched among the influencers profiled by that model.
"""

from __future__ import annotations

import base64
import binascii
import logging

import numpy as np
from fastapi import APIRouter, HTTPException

from streaming.service.deps import ModelDep, SettingsDep, StoreDep
from streaming.service.routers.influencers import DEFAULT_K, check_k, similar_item
from streaming.service.schemas import PostsQuery, PostsResult

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["similar"])


def _image_bytes(index: int, image_b64: str | None, max_bytes: int) -> bytes | None:
    if image_b64 is None:
        return None
    if len(image_b64) // 4 * 3 > max_bytes + 2:
        raise HTTPException(413, f"posts[{index}].image_b64 is larger than {max_bytes} bytes")
    try:
        return base64.b64decode(image_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise HTTPException(422, f"posts[{index}].image_b64 is not valid base64") from exc


@router.post("/similar", response_model=PostsResult, responses={503: {"description": "no model loaded"}})
def similar_to_posts(
    query: PostsQuery, model: ModelDep, store: StoreDep, settings: SettingsDep
) -> PostsResult:
    """Pool the posts with the model's attention, classify them, and find the k nearest influencers."""
    from training.encoders.text import post_text
    from training.errors import ImageDecodeError
    from training.interface import PostInput

    k = min(DEFAULT_K, settings.service.max_k) if query.k is None else query.k
    check_k(k, settings.service.max_k)
    limit = settings.service.max_posts_per_query
    if len(query.posts) > limit:
        raise HTTPException(422, f"at most {limit} posts per query (service.max_posts_per_query)")
    inputs = [
        PostInput(
            text=post_text(post.caption, post.hashtags, post.usertags),
            image=_image_bytes(i, post.image_b64, settings.job.max_image_bytes),
        )
        for i, post in enumerate(query.posts)
    ]
    try:
        features = model.encode(inputs)  # (n, F)
    except ImageDecodeError as exc:
        raise HTTPException(422, f"an image cannot be decoded: {exc}") from exc
    step = model.post_step(features)  # h (n, H), scores (n,)
    embedding = model.pool(step.h, step.scores)  # (H,)
    probabilities = model.classify(embedding[None, :])[0]  # (C,)
    weights = np.exp(step.scores - step.scores.max())
    weights = weights / weights.sum()
    hits = store.search(embedding, model.version, k)
    best = int(np.argmax(probabilities))
    return PostsResult(
        model_version=model.version,
        category=model.labels[best],
        probabilities={
            label: float(p)
            for label, p in sorted(zip(model.labels, probabilities, strict=True), key=lambda item: -item[1])
        },
        post_weights=[float(w) for w in weights],
        similar=[similar_item(profile, score) for profile, score in hits],
    )
