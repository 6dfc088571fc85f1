"""The HTTP API over a store filled with schema-valid profile events (no Kafka)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.streaming.service.profiles import PER_CATEGORY


def test_list_sorts_filters_and_pages(client: Any) -> None:
    params = {"category": "food", "sort": "post_count", "limit": 2}
    page = client.get("/api/influencers", params=params).json()
    assert page["total"] == PER_CATEGORY
    assert [item["influencer"] for item in page["items"]] == ["food_3", "food_2"]
    assert page["items"][0]["post_count"] > page["items"][1]["post_count"]
    rest = client.get(
        "/api/influencers",
        params={
            "category": "food",
            "sort": "post_count",
            "offset": 2,
            "limit": 2,
        },
    ).json()
    assert [item["influencer"] for item in rest["items"]] == ["food_1", "food_0"]
    by_name = client.get("/api/influencers", params={"q": "TRA", "sort": "name", "order": "asc"}).json()
    assert [item["influencer"] for item in by_name["items"]] == [f"travel_{i}" for i in range(PER_CATEGORY)]
    confident = client.get("/api/influencers", params={"limit": 3}).json()
    confidences = [item["confidence"] for item in confident["items"]]
    assert confidences == sorted(confidences, reverse=True) and confident["total"] == 3 * PER_CATEGORY


def test_list_rejects_bad_parameters(client: Any) -> None:
    too_big = client.get("/api/influencers", params={"limit": 7})  # service.page_size_max is 6
    assert too_big.status_code == 422
    assert too_big.json() == {"detail": "query limit: Input should be less than or equal to 6"}
    assert client.get("/api/influencers", params={"sort": "likes"}).status_code == 422
    assert client.get("/api/influencers", params={"offset": -1}).status_code == 422


def test_profile_has_probabilities_explanation_and_version(client: Any, image_root: Path) -> None:
    profile = client.get("/api/influencers/beauty_2").json()
    assert profile["category"] == "beauty"
    assert profile["confidence"] == pytest.approx(0.7)
    probabilities = list(profile["probabilities"].values())
    assert probabilities == sorted(probabilities, reverse=True) and len(probabilities) == 9
    assert sum(probabilities) == pytest.approx(1.0)
    assert profile["post_count"] == 11
    assert profile["model_version"] == "v-test"
    assert profile["updated"] == "2024-05-01T12:02:00Z"
    posts = profile["top_posts"]
    assert [p["post_id"] for p in posts] == ["beauty_2-p0", "beauty_2-p1", "beauty_2-p2"]
    assert posts[0]["caption"] == "beauty post 0 of beauty_2"
    image = client.get(posts[0]["image_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content == (image_root / "post.png").read_bytes()


def test_unknown_influencer_is_a_404_naming_it(client: Any) -> None:
    for path in ("/api/influencers/nobody_here", "/api/influencers/nobody_here/similar"):
        response = client.get(path)
        assert response.status_code == 404
        assert "nobody_here" in response.json()["detail"]


def test_similar_returns_same_cluster_with_scores_and_bounds_k(client: Any) -> None:
    result = client.get("/api/influencers/travel_0/similar", params={"k": 3}).json()
    assert result["influencer"] == "travel_0" and result["model_version"] == "v-test"
    assert [s["category"] for s in result["similar"]] == ["travel"] * 3
    assert "travel_0" not in {s["influencer"] for s in result["similar"]}
    scores = [s["score"] for s in result["similar"]]
    assert scores == sorted(scores, reverse=True) and all(0.9 < s <= 1.0 for s in scores)
    for k, bound in ((0, "greater than or equal to 1"), (6, "less than or equal to 5")):  # max_k 5
        response = client.get("/api/influencers/travel_0/similar", params={"k": k})
        assert response.status_code == 422
        assert response.json()["detail"] == f"query k: Input should be {bound}"


def test_categories_count_influencers(client: Any) -> None:
    assert client.get("/api/categories").json() == [
        {"category": c, "influencers": PER_CATEGORY} for c in ("beauty", "food", "travel")
    ]


def test_images_only_from_inside_the_roots(client: Any, image_root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"\x89PNG not for you")
    (image_root / "link.png").symlink_to(outside)
    (image_root / "notes.txt").write_text("not an image")
    for uri in (
        str(outside),
        f"{image_root}/../secret.png",
        f"file://{image_root}/link.png",
        "file://otherhost/etc/passwd",
        "../secret.png",
        "http://example.com/a.png",
    ):
        response = client.get("/images", params={"uri": uri})
        assert response.status_code == 403, uri
    assert client.get("/images", params={"uri": f"{image_root}/missing.png"}).status_code == 404
    assert client.get("/images", params={"uri": f"{image_root}/notes.txt"}).status_code == 404
    assert client.get("/images", params={"uri": f"{image_root}/post.png"}).status_code == 200


def test_no_image_roots_means_no_images(api_settings: Any, filled_store: Any, image_root: Path) -> None:
    from fastapi.testclient import TestClient

    from streaming.service.app import create_app

    job = api_settings.job.model_copy(update={"image_roots": ()})
    settings = api_settings.model_copy(update={"job": job})
    client = TestClient(create_app(settings, store=filled_store))
    assert client.get("/images", params={"uri": f"{image_root}/post.png"}).status_code == 403
    assert client.get("/api/influencers/food_0").json()["top_posts"][0]["image_url"] is None


def test_feed_streams_backlog_as_server_sent_events(client: Any) -> None:
    feed = client.app.state.services.feed
    for i in range(3):
        feed.publish({"influencer": f"food_{i}", "previous_category": "travel", "category": "food"})
    response = client.get("/api/feed", params={"max_events": 2})
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [block for block in response.text.replace("\r\n", "\n").split("\n\n") if block.strip()]
    assert len(events) == 2
    assert events[0].splitlines()[:2] == ["id: 1", "event: reclassified"]
    assert '"influencer": "food_0"' in events[0]
    resumed = client.get("/api/feed", params={"max_events": 1}, headers={"Last-Event-ID": "2"})
    assert "id: 3" in resumed.text and "food_2" in resumed.text


def test_similar_by_posts_without_model_is_503(client: Any) -> None:
    response = client.post("/api/similar", json={"posts": [{"caption": "pasta night"}]})
    assert response.status_code == 503
    assert "service.load_model is off" in response.json()["detail"]


def test_health_metrics_page_and_openapi(client: Any) -> None:
    health = client.get("/health").json()
    assert health["profiles"] == health["index_vectors"] == 3 * PER_CATEGORY
    assert client.get("/health/ready").status_code == 200
    client.get("/api/influencers/food_1")
    client.get("/api/influencers/nobody")
    metrics = client.get("/metrics").text
    assert (
        'scout_service_request_duration_seconds_count{method="GET",route="/api/influencers/{name}",'
        'status="200"} 1.0' in metrics
    )
    assert 'route="/api/influencers/{name}",status="404"} 1.0' in metrics
    assert "food_1" not in metrics and "nobody" not in metrics  # no influencer names as labels
    page = client.get("/")
    assert page.status_code == 200 and 'id="search"' in page.text
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/missing.js").status_code == 404
    for outside in ("/static/..%2Fapp.py", "/static/%2e%2e/app.py", "/static/../routers/page.py"):
        assert client.get(outside).status_code == 404, outside  # nothing outside the folder
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/influencers",
        "/api/influencers/{name}",
        "/api/influencers/{name}/similar",
        "/api/similar",
        "/api/feed",
        "/health",
        "/metrics",
        "/images",
    ):
        assert path in paths, path


def _all_names(client: Any, **params: Any) -> set[str]:
    names: set[str] = set()
    offset = 0
    while True:
        page = client.get("/api/influencers", params={**params, "offset": offset, "limit": 6}).json()
        names |= {item["influencer"] for item in page["items"]}
        offset += 6
        if offset >= page["total"]:
            return names


def test_sponsorship_panel_data_and_the_sponsorship_filters(client: Any, filled_store: Any) -> None:
    from tests.streaming.service.profiles import cluster_events

    events = {event["influencer"]: event["sponsorship"] for event in cluster_events()}
    profile = client.get("/api/influencers/travel_2").json()
    assert profile["sponsorship"] == events["travel_2"]  # the figures the job published, as published
    assert profile["sponsored_share"] == events["travel_2"]["sponsored_share"]
    assert [b["brand"] for b in profile["sponsorship"]["brands"]] == ["acme", "bolt.trips"]
    assert profile["sponsorship"]["likely_undisclosed"][0]["post_id"] == "travel_2-p0"
    assert client.get("/api/influencers/food_0").json()["sponsorship"]["estimated_undisclosed"] is None
    for share in (0.0, 0.2, 0.35, 1.0):
        want = {name for name, figures in events.items() if figures["sponsored_share"] <= share}
        assert _all_names(client, sponsored_max=share) == want, share
    assert 0 < len(_all_names(client, sponsored_max=0.2)) < len(events)
    acme = {name for name, figures in events.items() if any(b["brand"] == "acme" for b in figures["brands"])}
    for typed in ("acme", "@ACME", " Acme"):  # as a brand's account is typed
        assert _all_names(client, brand=typed) == acme
    assert _all_names(client, brand="bolt.trips", sponsored_max=1.0) == {f"travel_{i}" for i in range(4)}
    assert _all_names(client, brand="nobody") == set()
    by_share = client.get("/api/influencers", params={"sort": "sponsored_share", "limit": 6}).json()
    shares = [item["sponsored_share"] for item in by_share["items"]]
    assert shares == sorted(shares, reverse=True)
    assert client.get("/api/influencers", params={"sponsored_max": 1.5}).status_code == 422
    assert client.get("/api/influencers", params={"brand": "x" * 70}).status_code == 422
    similar = client.get("/api/influencers/travel_0/similar", params={"k": 5, "brand": "acme"}).json()
    assert {s["influencer"] for s in similar["similar"]} == acme - {"travel_0"}
    roster = client.post("/api/similar", json={"roster": ["food_0"], "k": 5, "brand": "@bolt.trips"}).json()
    assert {s["influencer"] for s in roster["similar"]} == {f"travel_{i}" for i in range(4)}
