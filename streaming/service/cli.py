"""`scout serve`: the look-up service and web page (uvicorn), bound to service.host (127.0.0.1)."""

from __future__ import annotations

import typer


def serve(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="Bind address (default service.host, 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default service.port, 8000)."),
    materialise: bool = typer.Option(True, help="Read the profile topics from Kafka."),
) -> None:
    """Serve the look-up API, the web page and /metrics, materialising profiles from Kafka.

    Example: scout --set service.port=8000 serve  (then open http://127.0.0.1:8000/)

    Beyond loopback it needs an API token: SCOUT_SERVICE__API_TOKEN=... scout serve --host 0.0.0.0,
    then open http://HOST:8000/#token=... (the page keeps the token for the tab, off the URL).
    """
    import uvicorn

    from streaming.cli import settings_of
    from streaming.errors import ServiceError
    from streaming.service.app import create_app

    settings = settings_of(ctx)
    service = settings.service.model_copy(
        update={
            "host": host or settings.service.host,
            "port": settings.service.port if port is None else port,
            "materialise": materialise and settings.service.materialise,
        }
    )
    settings = settings.model_copy(update={"service": service})
    try:
        scout_app = create_app(settings)
    except ServiceError as exc:
        typer.echo(f"scout serve: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"Influencer Scout at http://{service.host}:{service.port}/ (API docs at /docs)")
    uvicorn.run(
        scout_app,
        host=service.host,
        port=service.port,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
