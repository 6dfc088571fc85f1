"""Discovery on a generated world: topic search by words, reach and engagement filters and sorts."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest

from training.synth.vocab import WORDS

log = logging.getLogger(__name__)


def _batch_figures(world: Any) -> dict[str, dict[str, Any]]:
    """Each influencer's figures computed at once over all its posts (the reference)."""
    out = {}
    for name, posts in world.posts.groupby("influencer"):
        likes, comments = posts["likes"].dropna().astype(float), posts["comments"].dropna().astype(float)
        ts = posts["ts"].astype("int64").to_numpy() / 1e9
        followers = world.followers.get(name)
        likes_mean, comments_mean = likes.mean(), comments.mean()
        out[name] = {
            "post_count": len(posts),
            "likes_mean": likes_mean,
            "comments_mean": comments_mean,
            "posts_per_week": len(posts) / max((ts.max() - ts.min()) / (7 * 86400), 1.0),
            "followers": followers,
            "engagement_rate": (likes_mean + comments_mean) / followers if followers else None,
            "category": None,
        }
    return out


def _all(client: Any, **params: Any) -> list[dict[str, Any]]:
    page = client.get("/api/influencers", params={"limit": 200, **params})
    assert page.status_code == 200, page.text
    return page.json()["items"]


def test_a_query_of_one_categorys_words_finds_that_category_first(
    world_client: Any, world_profiles: Any
) -> None:
    labels = world_profiles.labels
    precisions = {}
    for category, words in WORDS.items():
        members = {name for name, label in labels.items() if label == category}
        if len(members) < 10:
            continue
        response = world_client.get("/api/search", params={"q": " ".join(words[:5]), "k": 10})
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert len(results) == 10
        scores = [r["score"] for r in results]
        assert scores == sorted(scores, reverse=True)
        precisions[category] = sum(r["influencer"] in members for r in results) / 10
    mean = float(np.mean(list(precisions.values())))
    log.info("topic search precision@10 by category: %s; mean %.3f", precisions, mean)
    assert len(precisions) >= 6 and mean >= 0.9 and min(precisions.values()) >= 0.7, (  # chance: 1/9
        f"precision@10 {precisions} (mean {mean:.3f})"
    )


def test_search_applies_the_filters_and_declares_its_bounds(world_client: Any) -> None:
    unfiltered = world_client.get("/api/search", params={"q": "vegan sourdough pasta", "k": 50}).json()[
        "results"
    ]
    category = unfiltered[0]["category"]  # the (untrained) model's category of the best hit
    floor = int(np.median([r["followers"] for r in unfiltered]))
    want = [r["influencer"] for r in unfiltered if r["category"] == category and r["followers"] >= floor]
    params = {"q": "vegan sourdough pasta", "k": 3, "category": category, "followers_min": floor}
    results = world_client.get("/api/search", params=params).json()["results"]
    assert [r["influencer"] for r in results] == want[:3] and results  # the best admitted, in order
    assert world_client.get("/api/search", params={"q": ""}).status_code == 422
    assert world_client.get("/api/search", params={"q": "   "}).status_code == 422
    assert world_client.get("/api/search", params={"q": "x" * 201}).status_code == 422
    assert world_client.get("/api/search", params={"q": "cats", "k": 51}).status_code == 422  # max_k 50
    parameters = {
        p["name"]: p
        for p in world_client.get("/openapi.json").json()["paths"]["/api/search"]["get"]["parameters"]
    }
    assert parameters["q"]["schema"]["maxLength"] == 200 and parameters["k"]["schema"]["maximum"] == 50
    assert parameters["followers_min"]["schema"]["anyOf"][0]["minimum"] == 0


def test_engagement_figures_equal_a_batch_computation(world_client: Any, world_profiles: Any) -> None:
    reference = _batch_figures(world_profiles)
    items = _all(world_client)
    assert len(items) == len(reference)
    for item in items:
        want = reference[item["influencer"]]
        assert item["post_count"] == want["post_count"] and item["followers"] == want["followers"]
        for key in ("likes_mean", "comments_mean", "posts_per_week", "engagement_rate"):
            assert item[key] == pytest.approx(want[key], rel=1e-9), key


def test_filters_return_exactly_the_matching_set_and_sorts_by_any_figure(
    world_client: Any, world_profiles: Any
) -> None:
    reference = _batch_figures(world_profiles)
    rates = sorted(f["engagement_rate"] for f in reference.values())
    followers = sorted(f["followers"] for f in reference.values())
    conditions = {
        "followers_min": followers[20],
        "followers_max": followers[80],
        "engagement_min": rates[30],
        "posts_min": 6,
    }
    served = {item["influencer"]: item for item in _all(world_client)}
    want = {
        name
        for name, f in reference.items()
        if conditions["followers_min"] <= f["followers"] <= conditions["followers_max"]
        and f["engagement_rate"] >= conditions["engagement_min"]
        and f["post_count"] >= conditions["posts_min"]
    }
    got = _all(world_client, **conditions, sort="engagement_rate")
    assert {item["influencer"] for item in got} == want and 0 < len(want) < len(reference)
    assert [item["engagement_rate"] for item in got] == sorted(
        (i["engagement_rate"] for i in got), reverse=True
    )
    category = served[next(iter(want))]["category"]
    one = _all(world_client, **conditions, category=category, sort="followers", order="asc")
    assert {i["influencer"] for i in one} == {n for n in want if served[n]["category"] == category}
    assert [i["followers"] for i in one] == sorted(i["followers"] for i in one)
    for key in ("posts_per_week", "likes_mean", "comments_mean"):
        values = [i[key] for i in _all(world_client, sort=key)]
        assert values == sorted(values, reverse=True)
    assert world_client.get("/api/influencers", params={"followers_min": -1}).status_code == 422
    assert world_client.get("/api/influencers", params={"engagement_min": 1001}).status_code == 422


def test_roster_lookalikes_exclude_the_roster_and_rank_its_category_first(
    world_client: Any, world_profiles: Any
) -> None:
    labels = world_profiles.labels
    shares = {}
    for category in ("pet", "travel", "interior", "fitness"):
        members = sorted(name for name, label in labels.items() if label == category)
        roster = members[:3]
        response = world_client.post("/api/similar", json={"roster": [*roster, "nobody_here"], "k": 5})
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["roster"] == roster and result["missing"] == ["nobody_here"]
        names = [s["influencer"] for s in result["similar"]]
        assert len(names) == 5 and not set(names) & set(roster)
        shares[category] = sum(labels[name] == category for name in names) / 5
    log.info("roster lookalikes: share of the roster's category in the top 5: %s", shares)
    assert float(np.mean(list(shares.values()))) >= 0.8 and min(shares.values()) >= 0.6, shares


def test_roster_lookalikes_take_the_filters_and_refuse_an_unknown_roster(world_client: Any) -> None:
    everyone = _all(world_client, sort="followers")
    floor = everyone[len(everyone) // 2]["followers"]
    roster = [everyone[0]["influencer"], everyone[1]["influencer"]]
    body = {"roster": roster, "k": 50, "followers_min": floor}
    similar = world_client.post("/api/similar", json=body).json()["similar"]
    admitted = {i["influencer"] for i in everyone if i["followers"] >= floor} - set(roster)
    assert {s["influencer"] for s in similar} == admitted  # k above the count: exactly the admitted set
    assert world_client.post("/api/similar", json={"roster": ["nobody"]}).status_code == 404
    assert world_client.post("/api/similar", json={"roster": []}).status_code == 422
    assert world_client.post("/api/similar", json={"roster": ["a"], "followers_min": -3}).status_code == 422


def test_every_list_downloads_as_csv_with_the_columns_shown(world_client: Any) -> None:
    import csv
    import io

    from streaming.service.export import LIST_COLUMNS, SCORED_COLUMNS

    def rows(response: Any) -> list[dict[str, str]]:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        return list(csv.DictReader(io.StringIO(response.text)))

    params = {"sort": "followers", "limit": 7, "posts_min": 6}
    listed = world_client.get("/api/influencers", params=params).json()["items"]
    by_param = rows(world_client.get("/api/influencers", params={**params, "format": "csv"}))
    by_accept = rows(world_client.get("/api/influencers", params=params, headers={"Accept": "text/csv"}))
    assert by_param == by_accept and list(by_param[0]) == list(LIST_COLUMNS)
    assert [r["influencer"] for r in by_param] == [i["influencer"] for i in listed]
    assert [float(r["engagement_rate"]) for r in by_param] == pytest.approx(
        [i["engagement_rate"] for i in listed]
    )
    found = rows(world_client.get("/api/search", params={"q": "puppy walk", "k": 4, "format": "csv"}))
    assert len(found) == 4 and list(found[0]) == list(SCORED_COLUMNS)
    roster = [listed[0]["influencer"]]
    alike = rows(world_client.post("/api/similar?format=csv", json={"roster": roster, "k": 3}))
    assert len(alike) == 3 and roster[0] not in {r["influencer"] for r in alike}
    near = rows(world_client.get(f"/api/influencers/{roster[0]}/similar", params={"k": 2, "format": "csv"}))
    assert len(near) == 2
    assert world_client.get("/api/influencers", params={"format": "xml"}).status_code == 422


def test_a_cell_a_spreadsheet_would_run_is_defused() -> None:
    from streaming.service.export import csv_response
    from streaming.service.schemas import InfluencerSummary

    item = InfluencerSummary(influencer="=HYPERLINK(1)", category="-x", confidence=0.5, post_count=1,
                             model_version="v", updated="t")  # fmt: skip
    text = csv_response([item], ("influencer", "category", "followers"), "x").body.decode()
    assert text.splitlines() == ["influencer,category,followers", "'=HYPERLINK(1),'-x,"]
