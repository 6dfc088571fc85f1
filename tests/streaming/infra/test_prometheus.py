"""Prometheus: the deploy config and alert rules (promtool), the dashboard's metric names, and a real
Prometheus on loopback scraping the service and a job metrics server while their series move."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from streaming.metrics.job import JobMetrics
from streaming.metrics.service import ServiceMetrics

ROOT = Path(__file__).resolve().parents[3]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboard.json"
needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (Debian: apt-get install prometheus)"
)
needs_prometheus = pytest.mark.skipif(
    shutil.which("prometheus") is None, reason="prometheus not installed (Debian: apt-get install prometheus)"
)


def exported_names() -> set[str]:
    """Every series name the job and the service export (histogram and counter suffixes included)."""
    names: set[str] = set()
    for registry in (JobMetrics().registry, ServiceMetrics().registry):
        for metric in registry.collect():
            names.update(sample.name for sample in metric.samples)
            names.add(metric.name)
            if metric.type == "histogram":
                names.update(f"{metric.name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
            if metric.type == "counter":
                names.add(f"{metric.name}_total")
    return names


def referenced_names(text: str) -> set[str]:
    return set(re.findall(r"\bscout_[a-z0-9_]+", text))


def test_dashboard_and_alerts_use_only_exported_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 15
    used = referenced_names("\n".join(exprs)) | referenced_names((PROMETHEUS_DIR / "alerts.yml").read_text())
    unknown = used - exported_names()
    assert not unknown, f"not exported by streaming.metrics: {sorted(unknown)}"
    # Every family the job and the service export has a panel, but for a few bookkeeping ones.
    shown = referenced_names("\n".join(exprs))
    families = {m.name for r in (JobMetrics().registry, ServiceMetrics().registry) for m in r.collect()}
    suffixes = ("", "_total", "_bucket", "_count", "_sum")
    missing = {f for f in families if not any(f + suffix in shown for suffix in suffixes)}
    assert missing == {
        "scout_job_batch_id",
        "scout_job_input_rows",
        "scout_job_batches",
        "scout_job_query_failures",
        "scout_service_profile_events",
        "scout_service_caught_up",
    }, sorted(missing)
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert all(p["datasource"]["uid"] == "${datasource}" for p in dashboard["panels"] if p["type"] != "row")


def test_every_metric_follows_the_naming_rules() -> None:
    for registry in (JobMetrics().registry, ServiceMetrics().registry):
        for metric in registry.collect():
            assert metric.name.startswith(("scout_job_", "scout_service_")), metric.name
            assert not re.search(r"_(ms|milliseconds|kb|mb|percent)$", metric.name), metric.name
            for sample in metric.samples:
                assert set(sample.labels) <= {
                    "topic",
                    "partition",
                    "reason",
                    "stream",
                    "method",
                    "route",
                    "status",
                    "le",
                }, (metric.name, sample.labels)


@needs_promtool
def test_promtool_accepts_config_and_rules_and_their_unit_tests() -> None:
    for args in (
        ["check", "config", "prometheus.yml"],
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts_test.yml"],
    ):
        result = subprocess.run(
            ["promtool", *args], cwd=PROMETHEUS_DIR, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, f"promtool {' '.join(args)}:\n{result.stdout}\n{result.stderr}"


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


@pytest.mark.integration
@needs_prometheus
def test_real_prometheus_sees_service_and_job_series_move(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    from streaming.config import load_settings
    from streaming.infra.prometheus import PrometheusServer, ScrapeTarget
    from streaming.metrics.job import serve_job_metrics
    from streaming.service.app import create_app
    from streaming.service.server import BackgroundServer

    settings = load_settings(None, {"service.materialise": False, "service.load_model": False}, environ={})
    job_metrics = JobMetrics()
    job_server = serve_job_metrics(job_metrics, port=0)
    service = BackgroundServer(create_app(settings), port=0)
    service.start()
    prometheus = PrometheusServer(tmp_path / "prometheus", port=free_port())
    try:
        prometheus.start(
            [
                ScrapeTarget("scout-job", f"127.0.0.1:{job_server.port}"),
                ScrapeTarget("scout-service", f"127.0.0.1:{service.port}"),
            ],
            scrape_interval_s=0.5,
            rule_files=[PROMETHEUS_DIR / "alerts.yml"],
        )
        wait_for(
            lambda: all(t["health"] == "up" for t in prometheus.targets()) and len(prometheus.targets()) == 2,
            30,
            "both targets up",
        )
        rules = {rule["name"] for rule in prometheus.rules()}
        assert rules >= {"ScoutJobDown", "ScoutNoBatches", "ScoutDeadLetterRate", "ScoutKafkaLagGrowing"}

        def scraped(promql: str) -> float | None:
            result = prometheus.query(promql)
            return float(result[0]["value"][1]) if result else None

        for _ in range(3):
            urllib.request.urlopen(f"{service.url}/api/influencers", timeout=5).read()
        job_metrics.count_reclassifications(2)
        requests = 'sum(scout_service_request_duration_seconds_count{route="/api/influencers"})'
        wait_for(lambda: scraped(requests) == 3, 30, "3 requests scraped")
        wait_for(lambda: scraped("scout_job_reclassifications_total") == 2, 30, "2 reclassifications")

        for _ in range(4):
            urllib.request.urlopen(f"{service.url}/api/influencers", timeout=5).read()
        job_metrics.count_reclassifications(5)
        job_metrics.count_dead_letters({"bad_json": 1})
        wait_for(lambda: scraped(requests) == 7, 30, "7 requests scraped")
        wait_for(lambda: scraped("scout_job_reclassifications_total") == 7, 30, "7 reclassifications")
        assert scraped('scout_job_dead_letters_total{reason="bad_json"}') == 1
        assert scraped('up{job="scout-service"}') == 1
    finally:
        prometheus.stop()
        service.stop()
        job_server.close()
    assert not prometheus.stop()  # already stopped: nothing left running
