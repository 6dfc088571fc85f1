"""Contract drill: schemathesis (all checks, every phase, bounded) against the real uvicorn server
holding profiles, a tiny real model and a live feed, with an API token and without one (loopback);
zero failures.

A control run against an app that breaks its own contract (a bound checked in code, not declared)
shows the harness does report failures.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException, Query

from streaming.config import ScoutSettings, ServiceSettings
from streaming.service.server import BackgroundServer
from tests.streaming.service.contract import run_schemathesis
from tests.streaming.service.profiles import T0, iso

TOKEN = "drill-token-0123456789abcdef"
DRILL_TIME_LIMIT_S = 150


def reclassification(i: int) -> dict[str, Any]:
    return {
        "schema": 1,
        "influencer": f"food_{i % 4}",
        "previous_category": "travel",
        "category": "food",
        "probabilities": {"food": 0.7, "travel": 0.3},
        "post_count": 7,
        "trigger_posts": ["p1"],
        "model_version": "v-test",
        "event_time": iso(T0),
        "processing_time": iso(T0),
        "batch_id": i,
    }


@pytest.fixture(params=[TOKEN, None], ids=["token", "no-token"])
def drill_settings(request: pytest.FixtureRequest, api_settings: ScoutSettings) -> ScoutSettings:
    service = ServiceSettings.model_validate(
        {
            **api_settings.service.model_dump(),
            "api_token": request.param,
            "similar_burst": 100_000,
            "similar_rate_per_s": 1000.0,
        }
    )
    job = api_settings.job.model_copy(update={"max_image_bytes": 30_000})  # short boundary strings
    return api_settings.model_copy(update={"service": service, "job": job})


@pytest.fixture
def served(drill_settings: ScoutSettings, filled_store: Any, tiny_model: Any) -> Iterator[str]:
    """The service on a free loopback port; its feed gets a reclassification every 20 ms."""
    from streaming.service.app import create_app

    app = create_app(drill_settings, model=tiny_model, store=filled_store)
    feed = app.state.services.feed
    for i in range(30):
        feed.publish(reclassification(i))
    stop = threading.Event()

    def publish() -> None:
        i = 30
        while not stop.wait(0.02):
            feed.publish(reclassification(i))
            i += 1

    publisher = threading.Thread(target=publish, name="drill-feed", daemon=True)
    with BackgroundServer(app, port=0) as server:
        publisher.start()
        try:
            yield server.url
        finally:
            stop.set()
            publisher.join()


def test_schemathesis_finds_nothing_against_the_service(
    served: str, drill_settings: ScoutSettings, tmp_path: Path
) -> None:
    started = time.monotonic()
    token = drill_settings.service.api_token
    headers = ["--header", f"Authorization: Bearer {token.get_secret_value()}"] if token else []
    result = run_schemathesis(served, *headers, cwd=tmp_path)
    assert result.passed, result.report[-6000:]
    document = json.loads(urllib.request.urlopen(f"{served}/openapi.json", timeout=10).read())
    operations = sum(len(methods) for methods in document["paths"].values())  # every route tested
    assert f"Selected: {operations}/{operations}" in result.report, result.report[-3000:]
    assert f"Tested: {operations}" in result.report, result.report[-3000:]
    assert time.monotonic() - started < DRILL_TIME_LIMIT_S


def test_the_drill_reports_a_bound_that_is_not_declared(tmp_path: Path) -> None:
    app = FastAPI()

    @app.get("/items")
    def items(limit: int = Query(10, ge=1)) -> dict[str, int]:
        if limit > 5:  # enforced, but not in the schema: schema-valid requests rejected
            raise HTTPException(422, "limit must be at most 5")
        return {"limit": limit}

    with BackgroundServer(app, port=0) as server:
        result = run_schemathesis(server.url, cwd=tmp_path)
    assert not result.passed and result.failures >= 1, result.report[-3000:]
    assert "Schema-valid request rejected" in result.report
