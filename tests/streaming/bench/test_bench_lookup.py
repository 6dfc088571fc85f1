"""scout bench lookup: a bounded run against a service in its own process, and the request plan."""

from __future__ import annotations

import numpy as np
from jsonschema import Draft202012Validator

from streaming.bench.lookup import MIX, plan, run, synthetic_profiles
from streaming.bench.report import unitless_key_problems
from streaming.events import load_schema


def test_plan_follows_the_mix_and_quotes_names() -> None:
    requests = plan(["a b/c", "dd"], 2000, k=7, rng=np.random.default_rng(0))
    shares = {kind: sum(1 for k, _, _ in requests if k == kind) / len(requests) for kind, _ in MIX}
    for kind, share in MIX:
        assert abs(shares[kind] - share) < 0.05
    paths = {path for _, path, _ in requests}
    assert "/api/influencers/a%20b%2Fc/similar?k=7" in paths
    assert "/api/influencers?q=a%20b&limit=20" in paths
    topics = [path for kind, path, _ in requests if kind == "topic"]
    assert all(path.startswith("/api/search?q=") and path.endswith("&k=7") for path in topics)
    rosters = [body for kind, _, body in requests if kind == "roster"]
    assert all(len(body["roster"]) == 3 and set(body["roster"]) <= {"a b/c", "dd"} for body in rosters)


def test_synthetic_profiles_are_valid_profile_events() -> None:
    validator = Draft202012Validator(load_schema("profile"))
    events = synthetic_profiles(5, dim=8, seed=1, text_dim=6)
    assert len({e["influencer"] for e in events}) == 5
    for event in events:
        assert not list(validator.iter_errors(event)) and len(event["text_vector"]) == 6


def test_bounded_run_reports_latency_percentiles() -> None:
    report = run(influencers=300, requests=150, concurrency=2, time_limit_s=60)
    figures = report.figures
    assert not unitless_key_problems(figures)
    assert figures["errors_count"] == 0
    assert figures["completed_requests_count"] == 150 and figures["time_limit_reached"] is False
    assert 0 < figures["overall_p50_ms"] <= figures["overall_p99_ms"]
    for kind, _ in MIX:
        assert 0 < figures[f"{kind}_p50_ms"] <= figures[f"{kind}_p99_ms"]
    assert [row["request"] for row in report.rows] == [kind for kind, _ in MIX] + ["all"]
    assert sum(row["count"] for row in report.rows[:-1]) == 150


def test_time_limit_bounds_the_run() -> None:
    report = run(influencers=50, requests=100_000, concurrency=1, time_limit_s=1.0)
    assert report.figures["time_limit_reached"] is True
    assert 0 < report.figures["completed_requests_count"] < 100_000
    assert report.figures["wall_s"] < 5
