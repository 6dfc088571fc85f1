"""POST /api/similar: influencers similar to a set of posts sent in the request, or to a roster.

A roster body (``{"roster": [names]}``) ranks the served influencers by similarity to the roster as
a whole (streaming.service.store.ProfileStore.roster), members excluded; it needs no model. Either
takes the filters of the lists in the body.

The posts go through the same model as the streaming job: encode -> post step -> attention pool
-> classify, and the pooled embedding is searched among the influencers profiled by that model.
The body's bounds come from the settings (``posts_query_model``); the route is rate-limited per
client address, since every request runs the encoders. An image whose bytes do not decode leaves
its post text-only, and the answer lists it under ``image_errors`` (the job would dead-letter that
post; a look-up answers with the reason instead of refusing the whole query).
"""

# No `from __future__ import annotations`: the body model is built per app, and FastAPI must see
# the class itself in the signature, not a name it cannot resolve.
import base64
import logging
import threading
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Body, Depends, HTTPException, Request
from fastapi.responses import Response

from streaming.config import ScoutSettings
from streaming.service.deps import ServicesDep, get_model
from streaming.service.export import (
    CSV_RESPONSE,
    SCORED_COLUMNS,
    Format,
    csv_response,
    format_param,
    wants_csv,
)
from streaming.service.filters import Filters, brand_account
from streaming.service.limits import ClientBuckets, retry_after
from streaming.service.problems import responses
from streaming.service.schemas import (
    ImageError,
    PostsResult,
    RosterResult,
    posts_query_model,
)
from streaming.service.views import default_k, similar_item

log = logging.getLogger(__name__)


def usable_images(model: Any, images: list[bytes | None]) -> tuple[list[bytes | None], list[ImageError]]:
    """The images the model's image encoder can decode (others become None), and why the rest not."""
    from training.encoders.image import decode_image
    from training.errors import ImageDecodeError

    _, image_encoder = model.encoders()
    if image_encoder is None:
        return images, []
    usable: list[bytes | None] = []
    errors: list[ImageError] = []
    for index, data in enumerate(images):
        if data is not None:
            try:
                decode_image(data, image_encoder.preprocess.size)
            except ImageDecodeError as exc:
                errors.append(ImageError(post=index, detail=str(exc)))
                data = None
        usable.append(data)
    return usable, errors


def rate_limiter(buckets: ClientBuckets):  # -> a FastAPI dependency
    def take_token(request: Request) -> None:
        client = request.client.host if request.client is not None else "unknown"
        wait_s = buckets.take(client)
        if wait_s > 0:
            raise HTTPException(
                429,
                f"too many look-ups by posts from {client}: {buckets.burst} at once "
                f"(service.similar_burst), then {buckets.rate_per_s:g}/s (service.similar_rate_per_s)",
                headers={"Retry-After": retry_after(wait_s)},
            )

    return take_token


def build_router(settings: ScoutSettings) -> APIRouter:
    service = settings.service
    PostsQuery = posts_query_model(service, settings.job)
    buckets = ClientBuckets(service.similar_rate_per_s, service.similar_burst)
    # One look-up runs the encoders at a time: torch already uses every core for one, and parallel
    # ones only thrash (and would race the encoders' lazy first load).
    encoding = threading.Lock()
    router = APIRouter(prefix="/api", tags=["similar"])

    @router.post(
        "/similar",
        response_model=PostsResult | RosterResult,
        dependencies=[Depends(rate_limiter(buckets))],
        responses=responses(
            400,
            404,
            413,
            422,
            429,
            503,
            described={404: "no member of the roster is served", 503: "no model is loaded (posts)"},
        )
        | CSV_RESPONSE,  # fmt: skip
    )
    def similar_to_posts(
        request: Request,
        query: Annotated[PostsQuery, Body()],
        services: ServicesDep,
        format: Annotated[Format, Depends(format_param)],
    ) -> PostsResult | RosterResult | Response:
        """Posts: pool them with the model's attention, classify them, and find the k nearest
        influencers. Roster: the k influencers nearest to the roster as a whole, members excluded."""
        from training.encoders.post_text import post_text
        from training.interface import PostInput

        store = services.store
        k = default_k(service) if query.k is None else query.k
        where = Filters(query.category, query.followers_min, query.followers_max, query.engagement_min,
                        query.posts_min, query.sponsored_max,
                        None if query.brand is None else brand_account(query.brand))  # fmt: skip
        if query.roster is not None:
            result = roster_lookalikes(query.roster, k, where, store)
            return (
                csv_response(result.similar, SCORED_COLUMNS, "lookalikes")
                if wants_csv(request, format)
                else result
            )
        model = get_model(services)
        posted = [
            None if post.image_b64 is None else base64.b64decode(post.image_b64, validate=True)
            for post in query.posts  # the schema's pattern admits only valid base64
        ]
        with encoding:
            images, image_errors = usable_images(model, posted)
            inputs = [
                PostInput(text=post_text(post.caption, post.hashtags, post.usertags), image=image)
                for post, image in zip(query.posts, images, strict=True)
            ]
            features = model.encode(inputs)  # (n, F)
            step = model.post_step(features)  # h (n, H), scores (n,)
            embedding = model.pool(step.h, step.scores)  # (H,)
            probabilities = model.classify(embedding[None, :], np.array([len(inputs)]))[0]  # (C,)
        weights = np.exp(step.scores - step.scores.max())
        weights = weights / weights.sum()
        hits = store.search(embedding, model.version, k, where)
        best = int(np.argmax(probabilities))
        ranked = sorted(zip(model.labels, probabilities, strict=True), key=lambda item: -item[1])
        similar = [similar_item(profile, score, store.figures(profile)) for profile, score in hits]
        if wants_csv(request, format):
            return csv_response(similar, SCORED_COLUMNS, "similar")
        return PostsResult(
            model_version=model.version,
            category=model.labels[best],
            probabilities={label: float(p) for label, p in ranked},
            post_weights=[float(w) for w in weights],
            similar=similar,
            image_errors=image_errors,
        )

    return router


def roster_lookalikes(roster: list[str], k: int, where: Filters, store: Any) -> RosterResult:
    missing, hits = store.roster(roster, k, where)
    found = [name for name in dict.fromkeys(roster) if name not in missing]
    if not found:
        raise HTTPException(404, f"no member of the roster {roster[:5]!r} has a served profile")
    return RosterResult(
        model_version=store.serving_version,
        roster=found,
        missing=missing,
        similar=[similar_item(profile, score, store.figures(profile)) for profile, score in hits],
    )
