"""Job driver metrics: progress documents, the listener on a real tiny query, the /metrics server."""

from __future__ import annotations

import time
import urllib.request
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from streaming.metrics.job import MAX_REASONS, JobMetrics, ScoutQueryListener, kafka_lag, serve_job_metrics


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels or None)


KAFKA_PROGRESS = {
    "batchId": 7,
    "numInputRows": 120,
    "inputRowsPerSecond": 40.0,
    "processedRowsPerSecond": 60.0,
    "durationMs": {"triggerExecution": 2000, "addBatch": 1500},
    "stateOperators": [
        {"numRowsTotal": 30, "memoryUsedBytes": 4096},
        {"numRowsTotal": 5, "memoryUsedBytes": 1024},
    ],
    "sources": [
        {
            "description": "KafkaV2[Subscribe[posts]]",
            "startOffset": {"posts": {"0": 10, "1": 20}},
            "endOffset": {"posts": {"0": 70, "1": 80}},
            "latestOffset": {"posts": {"0": 100, "1": 80}},
            "numInputRows": 120,
        }
    ],
}


def test_progress_document_updates_every_metric() -> None:
    metrics = JobMetrics()
    r = metrics.registry
    metrics.record_progress(KAFKA_PROGRESS)
    assert value(r, "scout_job_input_rows_per_second") == 40.0
    assert value(r, "scout_job_processed_rows_per_second") == 60.0
    assert value(r, "scout_job_input_rows_total") == 120
    assert value(r, "scout_job_batches_total") == 1
    assert value(r, "scout_job_batch_id") == 7
    assert value(r, "scout_job_batch_duration_seconds_sum") == 2.0
    assert value(r, "scout_job_kafka_lag_records", topic="posts", partition="0") == 30
    assert value(r, "scout_job_kafka_lag_records", topic="posts", partition="1") == 0
    assert abs(value(r, "scout_job_last_batch_timestamp_seconds") - time.time()) < 60
    metrics.record_idle()  # nothing new anywhere: caught up
    assert value(r, "scout_job_kafka_lag_records", topic="posts", partition="0") == 0


def test_kafka_lag_reads_offsets_given_as_json_text() -> None:
    source = {"endOffset": '{"t": {"0": 5}}', "latestOffset": '{"t": {"0": 9, "1": 3}}'}
    assert kafka_lag(source) == {("t", "0"): 4, ("t", "1"): 0}
    assert kafka_lag({"endOffset": 12, "latestOffset": 15}) == {}  # the rate source: not Kafka


def test_job_counters_and_bounded_reasons() -> None:
    metrics = JobMetrics()
    r = metrics.registry
    metrics.count_dead_letters({"bad_json": 2, "image_too_large": 1, "no_image": 0})
    metrics.count_dead_letters({"bad_json": 1, "Not A Reason!": 4})
    assert value(r, "scout_job_dead_letters_total", reason="bad_json") == 3
    assert value(r, "scout_job_dead_letters_total", reason="image_too_large") == 1
    assert value(r, "scout_job_dead_letters_total", reason="no_image") is None
    assert value(r, "scout_job_dead_letters_total", reason="other") == 4
    metrics.count_dead_letters({f"reason_{i}": 1 for i in range(MAX_REASONS + 10)})
    reasons = {s.labels["reason"] for m in metrics.dead_letters.collect() for s in m.samples}
    assert len(reasons) <= MAX_REASONS + 1  # the cap plus "other"
    metrics.count_reclassifications(3)
    assert value(r, "scout_job_reclassifications_total") == 3
    with metrics.time_embed_batch(posts=16):
        time.sleep(0.01)
    metrics.observe_embed_batch(0.2, posts=4)
    assert value(r, "scout_job_embedded_posts_total") == 20
    assert value(r, "scout_job_embed_batch_duration_seconds_count") == 2
    assert value(r, "scout_job_embed_batch_duration_seconds_sum") >= 0.21


def test_metrics_server_binds_loopback_and_serves_registry() -> None:
    metrics = JobMetrics()
    metrics.count_reclassifications(2)
    server = serve_job_metrics(metrics, port=0)
    try:
        assert server.host == "127.0.0.1" and server.port > 0
        body = urllib.request.urlopen(server.url, timeout=5).read().decode()
        assert "scout_job_reclassifications_total 2.0" in body
    finally:
        server.close()


@pytest.mark.integration
def test_listener_follows_a_real_streaming_query(spark: Any) -> None:
    from pyspark.sql import functions as F

    metrics = JobMetrics()
    listener = ScoutQueryListener(metrics)
    spark.streams.addListener(listener)
    query = None
    try:
        rows = spark.readStream.format("rate").option("rowsPerSecond", 20).load()
        counts = rows.groupBy((F.col("value") % 3).alias("bucket")).count()
        query = (
            counts.writeStream.format("memory")
            .queryName("scout_metrics_probe")
            .outputMode("update")
            .trigger(processingTime="500 milliseconds")
            .start()
        )
        r = metrics.registry
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if (value(r, "scout_job_batches_total") or 0) >= 2:
                break
            time.sleep(0.2)
        assert value(r, "scout_job_query_active") == 1
        assert value(r, "scout_job_batches_total") >= 2
        assert value(r, "scout_job_input_rows_total") > 0
        assert value(r, "scout_job_batch_duration_seconds_count") >= 2
    finally:
        if query is not None:
            query.stop()
        deadline = time.monotonic() + 30
        while value(metrics.registry, "scout_job_query_active") != 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        spark.streams.removeListener(listener)
    assert value(metrics.registry, "scout_job_query_active") == 0
    assert value(metrics.registry, "scout_job_query_failures_total") == 0


def test_state_stage_metrics() -> None:
    metrics = JobMetrics()
    r = metrics.registry
    metrics.observe_state_stage(0.02, influencers=40, held=1000)
    metrics.observe_state_stage(0.03, influencers=10, held=1004)
    assert value(r, "scout_job_state_updated_influencers_total") == 50
    assert value(r, "scout_job_state_influencers") == 1004
    assert value(r, "scout_job_state_stage_seconds_count") == 2
    assert abs(value(r, "scout_job_state_stage_seconds_sum") - 0.05) < 1e-9
