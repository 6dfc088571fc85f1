"""``create_app``: the look-up service wired together (settings, store, feed, metrics, routers).

The app is thin: state lives in one ``Services`` object (deps.py) injected into the routers, one
router per resource. The lifespan loads the model (for look-ups by posts) and starts the
materialiser that fills the store from Kafka; both are optional by settings.

Access and limits (access.py, limits.py): off loopback the app is not built without
``service.api_token``; with a token every router but health and the page's static files needs it.
Bodies are bounded by ``service.max_body_bytes``; every 4xx has one shape (problems.py).

    app = create_app(load_settings())
    uvicorn.run(app, host=settings.service.host, port=settings.service.port)
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from streaming.config import ScoutSettings
from streaming.metrics.service import RequestTimer, ServiceMetrics
from streaming.service import problems
from streaming.service.access import check_exposure, token_dependencies
from streaming.service.deps import Services
from streaming.service.history import HistoryStore
from streaming.service.limits import BodyLimit
from streaming.service.live import ReclassificationFeed
from streaming.service.problems import responses
from streaming.service.routers import feed, health, images, influencers, metrics, page, search, similar
from streaming.service.store import ProfileStore

log = logging.getLogger(__name__)

DESCRIPTION = """Look up Instagram influencers profiled live by the multimodal post-attentive model:
by name and category, one influencer's category with the posts that decided it, the most similar
influencers, influencers similar to a set of posts, and a live feed of reclassifications."""


def _index_factory(settings: ScoutSettings):  # -> Callable[[int], SimilarityIndex]
    from streaming.similarity.index import SimilarityIndex

    return lambda dim: SimilarityIndex.from_settings(dim, settings.similarity)


def _load_model(services: Services) -> None:
    from training.errors import TrainingError
    from training.model_dir import load_model

    folder = services.settings.job.model_dir
    try:
        services.model = load_model(folder, device=services.settings.job.device)
    except TrainingError as exc:
        services.model_problem = str(exc)
        log.warning("look-ups by posts are off: %s", exc)
        return
    log.info("model %s loaded from %s", services.model.version, folder)


def _load_encoders(services: Services) -> None:
    """Load the model's encoders at start, not in the first look-up by posts (seconds on a CPU)."""
    from training.errors import TrainingError

    try:
        services.model.encoders()
    except TrainingError as exc:
        services.model, services.model_problem = None, f"the model's encoders cannot be loaded: {exc}"
        log.warning("look-ups by posts are off: %s", exc)


def create_app(
    settings: ScoutSettings, *, model: Any | None = None, store: ProfileStore | None = None
) -> FastAPI:
    """The service. ``model`` (a ScoutModel) replaces loading ``job.model_dir``; ``store`` replaces
    the empty in-memory store (both for tests and embedding). Raises ApiTokenRequiredError for a
    host beyond loopback without service.api_token."""
    check_exposure(settings.service)
    service_metrics = ServiceMetrics()
    services = Services(
        settings=settings,
        store=store
        if store is not None
        else ProfileStore(_index_factory(settings), pinned_version=settings.service.model_version),
        feed=ReclassificationFeed(
            backlog=settings.service.feed_backlog,
            on_drop=service_metrics.feed_dropped.inc,
            on_subscribers=service_metrics.feed_clients.set,
        ),
        metrics=service_metrics,
        image_roots=tuple(os.path.realpath(root) for root in settings.job.image_roots),
        history=HistoryStore(settings.service.history_points),
        model=model,
        model_problem=None if settings.service.load_model else "service.load_model is off",
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services.model is None and settings.service.load_model:
            await asyncio.to_thread(_load_model, services)
        if services.model is not None:
            await asyncio.to_thread(_load_encoders, services)
        if settings.service.materialise:
            from streaming.service.materialiser import Materialiser

            services.materialiser = Materialiser(
                settings.kafka,
                services.store,
                services.feed,
                service_metrics,
                feed_backlog=settings.service.feed_backlog,
                history=services.history,
            )
            services.materialiser.start()
        try:
            yield
        finally:
            if services.materialiser is not None:
                await asyncio.to_thread(services.materialiser.stop)

    app = FastAPI(title="Influencer Scout", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.services = services
    problems.install(app)
    guarded = token_dependencies(settings.service)
    denied = responses(401) if guarded else {}
    for router in (
        influencers.build_router(settings.service),
        search.build_router(settings.service),
        similar.build_router(settings),
        feed.router,
        images.router,
        metrics.router,
    ):
        app.include_router(router, dependencies=guarded, responses=denied)
    app.include_router(health.router)
    app.include_router(page.router)  # the page's own files carry no data; it sends the token itself
    app.mount("/static", page.static_files(), name="static")
    app.add_middleware(BodyLimit, max_bytes=settings.service.max_body_bytes)
    app.add_middleware(RequestTimer, metrics=service_metrics)
    return app
