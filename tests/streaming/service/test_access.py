"""Access control: no token, no start beyond loopback; with a token every route but health needs it;
POST /api/similar is rate-limited per client address."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streaming.config import ScoutSettings, ServiceSettings
from streaming.service.errors import ApiTokenRequiredError

TOKEN = "a-test-token-of-32-characters-xx"
ROOT = Path(__file__).resolve().parents[3]


def with_service(settings: ScoutSettings, **service: Any) -> ScoutSettings:
    """``settings`` with some service keys replaced (validated, as when loaded)."""
    section = ServiceSettings.model_validate({**settings.service.model_dump(), **service})
    return settings.model_copy(update={"service": section})


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "scout.example.com"])
def test_refuses_to_build_beyond_loopback_without_a_token(api_settings: ScoutSettings, host: str) -> None:
    from streaming.service.app import create_app

    with pytest.raises(ApiTokenRequiredError, match="service.api_token"):
        create_app(with_service(api_settings, host=host))
    create_app(with_service(api_settings, host=host, api_token=TOKEN))  # with one it builds


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_needs_no_token(api_settings: ScoutSettings, host: str) -> None:
    from streaming.service.app import create_app

    create_app(with_service(api_settings, host=host))


def test_scout_serve_refuses_to_start_beyond_loopback_without_a_token() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "streaming.cli", "serve", "--host", "0.0.0.0", "--no-materialise"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "SCOUT_SERVICE__LOAD_MODEL": "false"},
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "service.api_token is not set" in result.stderr and "Uvicorn running" not in result.stderr


@pytest.fixture
def token_client(api_settings: ScoutSettings, filled_store: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from streaming.service.app import create_app

    with TestClient(create_app(with_service(api_settings, api_token=TOKEN), store=filled_store)) as client:
        yield client


def test_every_route_but_health_needs_the_token(token_client: Any, image_root: Path) -> None:
    document = token_client.get("/openapi.json").json()
    open_paths = {"/health", "/health/ready"}
    assert set(document["components"]["securitySchemes"]) == {"HTTPBearer"}
    urls = {
        "/api/influencers": "/api/influencers",
        "/api/categories": "/api/categories",
        "/api/influencers/{name}": "/api/influencers/food_1",
        "/api/influencers/{name}/similar": "/api/influencers/food_1/similar",
        "/api/feed": "/api/feed?max_events=1",
        "/metrics": "/metrics",
        "/images": f"/images?uri={image_root / 'post.png'}",
        "/api/similar": "/api/similar",
        "/api/search": "/api/search?q=food",
        "/api/influencers/{name}/history": "/api/influencers/food_1/history",
    }
    assert set(document["paths"]) == set(urls) | open_paths  # no route left unchecked here
    token_client.app.state.services.feed.publish({"influencer": "food_1"})
    for path, url in urls.items():
        method = "post" if path == "/api/similar" else "get"
        operation = document["paths"][path][method]
        assert operation["security"] == [{"HTTPBearer": []}] and "401" in operation["responses"], path
        kwargs = {"json": {"posts": [{"caption": "x"}]}} if method == "post" else {}
        for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": f"Basic {TOKEN}"}):
            refused = token_client.request(method, url, headers=headers, **kwargs)
            assert refused.status_code == 401, (url, headers)
            assert refused.headers["www-authenticate"] == "Bearer"
            assert set(refused.json()) == {"detail"}
        allowed = token_client.request(method, url, headers={"Authorization": f"Bearer {TOKEN}"}, **kwargs)
        needs_model = method == "post" or path == "/api/search"
        assert allowed.status_code == (503 if needs_model else 200), url  # 503: no model here
    for url in ("/health", "/health/ready", "/", "/static/app.js", "/openapi.json"):
        assert token_client.get(url).status_code == 200, url


def test_similar_by_posts_answers_429_after_the_burst(api_settings: ScoutSettings, tiny_model: Any) -> None:
    from fastapi.testclient import TestClient

    from streaming.service.app import create_app
    from tests.streaming.service.profiles import new_store

    app = create_app(
        with_service(api_settings, similar_burst=2, similar_rate_per_s=0.01),
        model=tiny_model,
        store=new_store(),
    )
    body = {"posts": [{"caption": "pasta night"}]}
    with (
        TestClient(app, client=("10.0.0.1", 5000)) as first,
        TestClient(app, client=("10.0.0.2", 5000)) as other,
    ):
        assert [first.post("/api/similar", json=body).status_code for _ in range(2)] == [200, 200]
        limited = first.post("/api/similar", json=body)
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 100  # one token takes 100 s at 0.01/s
        assert "service.similar_burst" in limited.json()["detail"]
        assert other.post("/api/similar", json=body).status_code == 200  # its own bucket
        assert first.get("/api/influencers").status_code == 200  # only the look-up by posts is limited


def test_the_token_is_a_secret_of_at_least_16_characters() -> None:
    from streaming.config import load_settings
    from streaming.errors import ConfigError

    settings = load_settings(None, None, environ={"SCOUT_SERVICE__API_TOKEN": TOKEN})
    assert settings.service.api_token is not None
    assert settings.service.api_token.get_secret_value() == TOKEN
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.service)  # never in logs
    with pytest.raises(ConfigError, match="service.api_token"):
        load_settings(None, {"service.api_token": "short"}, environ={})
