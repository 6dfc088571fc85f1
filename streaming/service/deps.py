"""What the routers receive by dependency injection: settings, the store, the feed, the model.

Everything lives in one ``Services`` object on ``app.state``, built by ``create_app``; tests swap any
of it with ``app.dependency_overrides``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, HTTPException, Request

from streaming.config import ScoutSettings
from streaming.metrics.service import ServiceMetrics
from streaming.service.history import HistoryStore
from streaming.service.live import ReclassificationFeed
from streaming.service.store import ProfileStore

if TYPE_CHECKING:
    from streaming.service.materialiser import Materialiser


@dataclass
class Services:
    settings: ScoutSettings
    store: ProfileStore
    feed: ReclassificationFeed
    metrics: ServiceMetrics
    image_roots: tuple[str, ...]  # resolved (realpath) job.image_roots
    history: HistoryStore
    model: Any | None = None  # training.model_dir.ScoutModel; imported lazily (torch)
    model_problem: str | None = None  # why there is no model, for the 503 message
    materialiser: Materialiser | None = None


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_settings(services: Annotated[Services, Depends(get_services)]) -> ScoutSettings:
    return services.settings


def get_store(services: Annotated[Services, Depends(get_services)]) -> ProfileStore:
    return services.store


def get_feed(services: Annotated[Services, Depends(get_services)]) -> ReclassificationFeed:
    return services.feed


def get_model(services: Annotated[Services, Depends(get_services)]) -> Any:
    if services.model is None:
        raise HTTPException(503, f"no model is loaded: {services.model_problem or 'not configured'}")
    return services.model


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[ScoutSettings, Depends(get_settings)]
StoreDep = Annotated[ProfileStore, Depends(get_store)]
FeedDep = Annotated[ReclassificationFeed, Depends(get_feed)]
ModelDep = Annotated[Any, Depends(get_model)]
