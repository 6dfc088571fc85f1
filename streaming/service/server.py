"""Run the service's uvicorn server in a background thread of the current process.

For the demo driver and the tests, which need the real HTTP server (browsers, Prometheus, the load
generator) beside other work; ``scout serve`` runs uvicorn in the foreground instead.

    with BackgroundServer(create_app(settings), port=0) as server:
        print(server.url)
"""

from __future__ import annotations

import logging
import threading

import uvicorn
from fastapi import FastAPI

from streaming.errors import ServiceError
from streaming.infra.wait import wait_until

log = logging.getLogger(__name__)


class BackgroundServer:
    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=3,
        )
        self._app = app
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="scout-service", daemon=True)
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 60.0) -> None:
        """Start serving and return once the socket accepts requests (the lifespan has run)."""
        self._thread.start()

        def late() -> ServiceError:
            self.stop()
            return ServiceError(f"the service did not start within {timeout_s:.0f}s")

        wait_until(
            lambda: self._server.started,
            timeout_s=timeout_s,
            interval_s=0.05,
            alive=self._thread.is_alive,
            stopped=lambda: ServiceError(f"the service on {self.host}:{self.port} stopped while starting"),
            timed_out=late,
        )
        self.port = self._server.servers[0].sockets[0].getsockname()[1]  # the real one when port=0
        log.info("service at %s", self.url)

    def stop(self, timeout_s: float = 15.0) -> None:
        services = getattr(self._app.state, "services", None)
        if services is not None:
            services.feed.close()  # open event streams end, so uvicorn need not wait for them
        self._server.should_exit = True
        self._thread.join(timeout=timeout_s)
        if self._thread.is_alive():
            log.warning("the service thread did not stop within %.0fs", timeout_s)

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
