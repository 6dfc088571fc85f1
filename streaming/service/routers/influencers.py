"""/api/influencers: list and search, one profile with its explanation, its most similar peers.

``build_router(service)`` declares the bounds that depend on the settings (limit at most
service.page_size_max, k within 1..service.max_k) on the parameters themselves, so FastAPI enforces
exactly what the OpenAPI document says.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from streaming.config import ServiceSettings
from streaming.service.deps import ServicesDep, StoreDep
from streaming.service.export import (
    CSV_RESPONSE,
    LIST_COLUMNS,
    SCORED_COLUMNS,
    Format,
    csv_response,
    format_param,
    wants_csv,
)
from streaming.service.filters import SortKey
from streaming.service.params import FiltersDep
from streaming.service.problems import responses
from streaming.service.routers.images import image_url
from streaming.service.schemas import (
    CategoryChange,
    CategoryCount,
    HistoryPoint,
    InfluencerHistory,
    InfluencerPage,
    InfluencerProfile,
    SimilarResult,
    TopPost,
)
from streaming.service.store import Profile, ProfileStore
from streaming.service.views import default_k, similar_item, sponsorship_view, summary

DEFAULT_PAGE_SIZE = 20
NO_PROFILE = {404: "no profile for that influencer"}


def unknown(name: str) -> HTTPException:
    return HTTPException(404, f"unknown influencer {name!r}: no profile has been materialised for it")


def build_router(service: ServiceSettings) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["influencers"])
    page_max = service.page_size_max
    page_default = min(DEFAULT_PAGE_SIZE, page_max)
    k_default = default_k(service)

    @router.get("/influencers", response_model=InfluencerPage, responses={**responses(422), **CSV_RESPONSE})
    async def list_influencers(
        request: Request,
        store: StoreDep,
        where: FiltersDep,
        format: Format = Depends(format_param),
        q: str = Query("", max_length=100, description="name prefix, case-insensitive"),
        sort: SortKey = Query("confidence", description="influencers without the figure sorted by come last"),
        order: Literal["desc", "asc"] = "desc",
        offset: int = Query(0, ge=0),
        limit: int = Query(page_default, ge=1, le=page_max, description="at most service.page_size_max"),
    ) -> InfluencerPage | Response:
        """Influencers whose name starts with ``q``, filtered by category, followers, engagement rate
        and post count, sorted by any figure and paginated; the served model's profiles only."""
        total, page = store.query(q, None, sort, order == "desc", offset, limit, where=where)
        version, held_back = store.serving()
        if wants_csv(request, format):
            return csv_response([summary(p, store.figures(p)) for p in page], LIST_COLUMNS, "influencers")
        return InfluencerPage(
            model_version=version,
            held_back=held_back,
            total=total,
            offset=offset,
            limit=limit,
            items=[summary(p, store.figures(p)) for p in page],
        )

    @router.get("/categories", response_model=list[CategoryCount])
    async def categories(services: ServicesDep) -> list[CategoryCount]:
        """Every category with its number of influencers (the model's labels included, even when empty)."""
        counts = services.store.categories()
        labels = getattr(services.model, "labels", ())
        names = sorted(set(counts) | set(labels))
        return [CategoryCount(category=name, influencers=counts.get(name, 0)) for name in names]

    @router.get(
        "/influencers/{name}",
        response_model=InfluencerProfile,
        responses=responses(404, described=NO_PROFILE),
    )
    async def get_influencer(name: str, services: ServicesDep) -> InfluencerProfile:
        """One profile: category, all probabilities, post count, the top-attention posts, model version."""
        profile = services.store.get(name)
        if profile is None:
            raise unknown(name)
        return profile_of(profile, services.image_roots, services.store)

    @router.get(
        "/influencers/{name}/history",
        response_model=InfluencerHistory,
        responses=responses(404, described=NO_PROFILE),
    )
    async def influencer_history(name: str, services: ServicesDep) -> InfluencerHistory:
        """The category over time: each profile update (with the probability of today's category
        then) and each reclassification, oldest first, the latest service.history_points of each."""
        profile = services.store.get(name)
        if profile is None:
            raise unknown(name)
        points, changes = services.history.of(name, profile.model_version)
        return InfluencerHistory(
            influencer=name,
            category=profile.category,
            model_version=profile.model_version,
            points=[
                HistoryPoint(
                    time=p.time,
                    event_time=p.event_time,
                    post_count=p.post_count,
                    category=p.category,
                    probability=float(p.probabilities.get(profile.category, 0.0)),
                )
                for p in points
            ],
            changes=[
                CategoryChange(
                    time=c.time,
                    previous_category=c.previous_category,
                    category=c.category,
                    post_count=c.post_count,
                )
                for c in changes
            ],  # fmt: skip
        )

    @router.get(
        "/influencers/{name}/similar",
        response_model=SimilarResult,
        responses={**responses(404, 422, described=NO_PROFILE), **CSV_RESPONSE},
    )
    async def similar_influencers(
        request: Request,
        name: str,
        store: StoreDep,
        where: FiltersDep,
        format: Format = Depends(format_param),
        k: int = Query(k_default, ge=1, le=service.max_k, description="how many, at most service.max_k"),
    ) -> SimilarResult | Response:
        """The k influencers whose pooled embeddings are closest (cosine), same model version only,
        among those the filters admit."""
        profile = store.get(name)
        hits = store.similar_to(name, k, where)
        if profile is None or hits is None:
            raise unknown(name)
        similar = [similar_item(other, score, store.figures(other)) for other, score in hits]
        if wants_csv(request, format):
            return csv_response(similar, SCORED_COLUMNS, f"similar-to-{name}")
        return SimilarResult(influencer=name, model_version=profile.model_version, similar=similar)

    return router


def profile_of(profile: Profile, image_roots: tuple[str, ...], store: ProfileStore) -> InfluencerProfile:
    posts = [
        TopPost(
            post_id=post["post_id"],
            score=post["score"],
            weight=post["weight"],
            caption=post["caption"],
            ts=post.get("ts"),
            image_uri=post.get("image_uri"),
            image_url=image_url(post.get("image_uri"), image_roots),
        )
        for post in profile.top_posts
    ]
    probabilities = dict(sorted(profile.probabilities.items(), key=lambda item: -item[1]))
    return InfluencerProfile(
        **summary(profile, store.figures(profile)).model_dump(),
        probabilities=probabilities,
        top_posts=posts,
        event_time=profile.event_time,
        batch_id=profile.batch_id,
        sponsorship=sponsorship_view(profile.sponsorship),
    )
