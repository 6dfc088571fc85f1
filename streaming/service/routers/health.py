"""GET /health (details) and /health/ready (503 until the profiles topic has been read once)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from streaming.service.deps import ServicesDep
from streaming.service.schemas import Health

router = APIRouter(tags=["health"])


def health_of(services: ServicesDep) -> Health:
    materialiser = services.materialiser
    connected = materialiser is not None and materialiser.connected
    caught_up = materialiser is None or materialiser.caught_up.is_set()
    if materialiser is not None and not connected and materialiser.last_error is not None:
        status = "degraded"  # it tried and could not reach Kafka
    elif not caught_up or (materialiser is not None and not connected):
        status = "starting"
    else:
        status = "ok"
    serving, held_back = services.store.serving()
    return Health(
        status=status,
        kafka_connected=connected,
        caught_up=caught_up,
        profiles=len(services.store),
        index_vectors=services.store.index_size(),
        model_version=getattr(services.model, "version", None),
        model_calibrated=getattr(services.model, "calibrated", None),
        serving_model_version=serving,
        held_back=held_back,
        last_error=materialiser.last_error if materialiser is not None else None,
    )


@router.get("/health", response_model=Health)
def health(services: ServicesDep) -> Health:
    """Whether the service reads Kafka, has caught up with the profiles topic, and what it holds."""
    return health_of(services)


@router.get("/health/ready", response_model=Health, responses={503: {"model": Health}})
def ready(services: ServicesDep, response: Response) -> Health:
    """200 once the profiles topic has been read up to where it was at start, 503 before."""
    current = health_of(services)
    if not current.caught_up:
        response.status_code = 503
    return current
