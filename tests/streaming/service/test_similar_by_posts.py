"""POST /api/similar with a tiny real model: the posts of a profiled influencer find that influencer."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from streaming.config import ScoutSettings
from streaming.service.store import profile_from_event
from tests.streaming.service.profiles import new_store, png_bytes, profile_event

POSTS = {
    "chef_anna": [("fresh pasta with basil tonight", (220, 180, 40)), ("sourdough bread crust", None)],
    "trail_tom": [("sunrise over the mountain trail", (40, 90, 200)), ("packing light for a hike", None)],
    "glow_gina": [("new lipstick and a skincare routine", (230, 80, 150))],
}


def request_posts(name: str) -> list[dict[str, Any]]:
    return [
        {
            "caption": caption,
            "hashtags": ["daily"],
            **({"image_b64": base64.b64encode(png_bytes(colour)).decode()} if colour else {}),
        }
        for caption, colour in POSTS[name]
    ]


def profile_of(model: Any, name: str) -> dict[str, Any]:
    """The profile event the job would write after seeing all of ``name``'s posts."""
    from training.encoders.post_text import post_text
    from training.interface import PostInput

    inputs = [
        PostInput(post_text(caption, ["daily"]), png_bytes(colour) if colour else None)
        for caption, colour in POSTS[name]
    ]
    step = model.post_step(model.encode(inputs))
    embedding = model.pool(step.h, step.scores)  # (H,)
    probabilities = model.classify(embedding[None, :])[0]  # (C,)
    category = model.labels[int(np.argmax(probabilities))]
    event = profile_event(name, category, embedding, post_count=len(inputs), model_version=model.version)
    event["probabilities"] = {label: float(p) for label, p in zip(model.labels, probabilities, strict=True)}
    return event


@pytest.fixture(scope="module")
def profiles(tiny_model: Any) -> dict[str, dict[str, Any]]:
    return {name: profile_of(tiny_model, name) for name in POSTS}


@pytest.fixture
def model_client(api_settings: ScoutSettings, tiny_model: Any, profiles: dict[str, Any]) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from streaming.service.app import create_app

    store = new_store()
    for event in profiles.values():
        store.put(profile_from_event(event))
    # Another model's profile with the same dimension must never be returned.
    store.put(
        profile_from_event(
            profile_event(
                "old_model_twin",
                "food",
                np.asarray(profiles["chef_anna"]["embedding"]),
                model_version="older",
            )
        )
    )
    with TestClient(create_app(api_settings, model=tiny_model, store=store)) as client:
        yield client


@pytest.mark.parametrize("name", list(POSTS))
def test_an_influencers_own_posts_find_it_first(
    model_client: Any, profiles: dict[str, Any], name: str
) -> None:
    response = model_client.post("/api/similar", json={"posts": request_posts(name), "k": 3})
    assert response.status_code == 200, response.text
    result = response.json()
    best = result["similar"][0]
    assert best["influencer"] == name
    assert best["score"] == pytest.approx(1.0, abs=1e-4)
    assert {s["influencer"] for s in result["similar"]} == set(POSTS)
    assert result["category"] == profiles[name]["category"]
    for label, p in profiles[name]["probabilities"].items():
        assert result["probabilities"][label] == pytest.approx(p, abs=1e-5)
    assert len(result["post_weights"]) == len(POSTS[name])
    assert sum(result["post_weights"]) == pytest.approx(1.0)


def test_bad_requests_are_4xx_with_reasons(model_client: Any) -> None:
    def post(body: dict[str, Any]) -> Any:
        return model_client.post("/api/similar", json=body)

    assert post({"posts": []}).status_code == 422
    not_base64 = post({"posts": [{"caption": "x", "image_b64": "@@@"}]})
    assert not_base64.status_code == 422
    assert not_base64.json()["detail"].startswith("body posts[0].image_b64: String should match pattern")
    assert post({"posts": [{"caption": "x"}], "k": 6}).status_code == 422
    too_many = post({"posts": [{"caption": "x"}] * 51})
    assert too_many.status_code == 422
    assert (
        too_many.json()["detail"] == "body posts: List should have at most 50 items after validation, not 51"
    )
    for not_json in (b"{", b"\xff{"):  # not JSON; not even text
        response = model_client.post(
            "/api/similar", content=not_json, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400 and "body" in response.json()["detail"], not_json


def test_an_image_that_does_not_decode_leaves_its_post_text_only(model_client: Any) -> None:
    text_only = model_client.post("/api/similar", json={"posts": [{"caption": "pasta night"}]}).json()
    broken = model_client.post(
        "/api/similar",
        json={
            "posts": [
                {"caption": "pasta night", "image_b64": base64.b64encode(b"hello").decode()},
            ]
        },
    )
    assert broken.status_code == 200, broken.text
    result = broken.json()
    assert [error["post"] for error in result["image_errors"]] == [0]
    assert "cannot decode image of 5 bytes" in result["image_errors"][0]["detail"]
    assert result["probabilities"] == pytest.approx(text_only["probabilities"])
    assert text_only["image_errors"] == []
