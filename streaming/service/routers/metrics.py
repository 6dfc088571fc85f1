"""GET /metrics: the service's Prometheus metrics (text exposition format)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streaming.service.deps import ServicesDep

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response)
def metrics(services: ServicesDep) -> Response:
    """Request latency by route, profiles materialised, index size, consumer lag."""
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
