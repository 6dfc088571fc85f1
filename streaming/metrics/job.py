"""Metrics of the streaming job driver: a StreamingQueryListener plus counters the job feeds itself.

Spark reports each micro-batch as a progress document (``StreamingQueryProgress.json``); the
listener hands it to ``JobMetrics.record_progress``, a pure function of that document, so it is
tested without Spark too. What Spark cannot see (dead-letter reasons, reclassifications, the time
the encoders take) the job counts with ``count_dead_letters``, ``count_reclassifications`` and
``observe_embed_batch`` — from the driver process, where the registry lives.

Served by ``serve_job_metrics`` on ``job.metrics_port`` (127.0.0.1 unless told otherwise)::

    metrics = JobMetrics()
    spark.streams.addListener(ScoutQueryListener(metrics))
    server = serve_job_metrics(metrics, settings.job.metrics_port)
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from pyspark.sql.streaming.listener import (
    QueryIdleEvent,
    QueryProgressEvent,
    QueryStartedEvent,
    QueryTerminatedEvent,
    StreamingQueryListener,
)

log = logging.getLogger(__name__)

# Dead-letter reasons are the job's own codes; anything else is folded into one label value so a
# bug upstream can never create an unbounded number of series.
_REASON = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_REASONS = 64
OTHER_REASON = "other"

EMBED_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


def source_offsets(value: Any) -> dict[str, dict[str, int]]:
    """A Kafka source offset ({topic: {partition: offset}}, maybe still a JSON string) or {}."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    if not isinstance(value, dict):
        return {}  # e.g. the rate source's plain number
    return {
        topic: {str(p): int(o) for p, o in parts.items()}
        for topic, parts in value.items()
        if isinstance(parts, dict)
    }


def kafka_lag(source: Mapping[str, Any]) -> dict[tuple[str, str], int]:
    """(topic, partition) -> records between what the batch read and the latest offset."""
    end, latest = source_offsets(source.get("endOffset")), source_offsets(source.get("latestOffset"))
    return {
        (topic, partition): max(0, latest_offset - end.get(topic, {}).get(partition, latest_offset))
        for topic, partitions in latest.items()
        for partition, latest_offset in partitions.items()
    }


class JobMetrics:
    """The job driver's metrics, in their own registry (one per driver, or per test)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.input_rows_per_second = Gauge(
            "scout_job_input_rows_per_second", "Rows per second arriving, last micro-batch", registry=r
        )
        self.processed_rows_per_second = Gauge(
            "scout_job_processed_rows_per_second", "Rows per second processed, last micro-batch", registry=r
        )
        self.input_rows = Counter("scout_job_input_rows", "Rows read from the sources", registry=r)
        self.batches = Counter("scout_job_batches", "Micro-batches completed", registry=r)
        self.batch_duration = Histogram(
            "scout_job_batch_duration_seconds",
            "Wall time of a micro-batch (trigger execution)",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.last_batch = Gauge(
            "scout_job_last_batch_timestamp_seconds", "Unix time the last micro-batch completed", registry=r
        )
        self.last_batch_id = Gauge("scout_job_batch_id", "Id of the last completed micro-batch", registry=r)
        self.kafka_lag = Gauge(
            "scout_job_kafka_lag_records",
            "Records not yet read, per source partition",
            ["topic", "partition"],
            registry=r,
        )
        self.query_active = Gauge("scout_job_query_active", "1 while the streaming query runs", registry=r)
        self.query_failures = Counter(
            "scout_job_query_failures", "Streaming queries that stopped with an error", registry=r
        )
        self.dead_letters = Counter(
            "scout_job_dead_letters", "Events sent to the dead-letter topic", ["reason"], registry=r
        )
        self.reclassifications = Counter(
            "scout_job_reclassifications", "Influencers whose category changed", registry=r
        )
        self.embed_duration = Histogram(
            "scout_job_embed_batch_duration_seconds",
            "Time to embed one batch of posts",
            buckets=EMBED_BUCKETS,
            registry=r,
        )
        self.embedded_posts = Counter("scout_job_embedded_posts", "Posts embedded", registry=r)
        self.state_stage_duration = Histogram(
            "scout_job_state_stage_seconds",
            "State stage time of one micro-batch (fold and store commit)",
            buckets=EMBED_BUCKETS,
            registry=r,
        )
        self.state_updates = Counter(
            "scout_job_state_updated_influencers", "Influencer states updated", registry=r
        )
        self.state_influencers = Gauge(
            "scout_job_state_influencers", "Influencers held in the job's state store", registry=r
        )
        self._reasons: set[str] = set()
        self._lock = threading.Lock()

    # -- fed by Spark's progress reports -------------------------------------------------------

    def record_progress(self, progress: Mapping[str, Any]) -> None:
        """Update from one progress document (the JSON of a StreamingQueryProgress, parsed)."""
        self.input_rows_per_second.set(float(progress.get("inputRowsPerSecond") or 0.0))
        self.processed_rows_per_second.set(float(progress.get("processedRowsPerSecond") or 0.0))
        self.input_rows.inc(int(progress.get("numInputRows") or 0))
        duration_ms = (progress.get("durationMs") or {}).get("triggerExecution")
        if duration_ms is not None:
            self.batch_duration.observe(float(duration_ms) / 1000.0)
        self.batches.inc()
        self.last_batch.set(time.time())
        self.last_batch_id.set(int(progress.get("batchId", 0)))
        for source in progress.get("sources") or []:
            for (topic, partition), lag in kafka_lag(source).items():
                self.kafka_lag.labels(topic, partition).set(lag)

    def record_idle(self) -> None:
        """No new data anywhere: every known source partition is caught up."""
        for metric in self.kafka_lag.collect():
            for sample in metric.samples:
                self.kafka_lag.labels(sample.labels["topic"], sample.labels["partition"]).set(0)

    # -- fed by the job itself -----------------------------------------------------------------

    def _reason_label(self, reason: str) -> str:
        with self._lock:
            if reason in self._reasons:
                return reason
            if not _REASON.match(reason) or len(self._reasons) >= MAX_REASONS:
                log.warning("dead-letter reason %r counted as %r", reason[:60], OTHER_REASON)
                return OTHER_REASON
            self._reasons.add(reason)
            return reason

    def count_dead_letters(self, counts: Mapping[str, int]) -> None:
        """Add one micro-batch's dead-lettered events: reason code -> how many."""
        for reason, n in counts.items():
            if n > 0:
                self.dead_letters.labels(self._reason_label(reason)).inc(n)

    def count_reclassifications(self, n: int) -> None:
        if n > 0:
            self.reclassifications.inc(n)

    def observe_embed_batch(self, seconds: float, posts: int) -> None:
        """One batch of ``posts`` went through the encoders in ``seconds``."""
        self.embed_duration.observe(seconds)
        self.embedded_posts.inc(posts)

    def observe_state_stage(self, seconds: float, influencers: int, held: int) -> None:
        """One micro-batch updated ``influencers`` states in ``seconds``; the store now holds ``held``."""
        self.state_stage_duration.observe(seconds)
        self.state_updates.inc(influencers)
        self.state_influencers.set(held)

    @contextmanager
    def time_embed_batch(self, posts: int):
        start = time.perf_counter()
        yield
        self.observe_embed_batch(time.perf_counter() - start, posts)


class ScoutQueryListener(StreamingQueryListener):
    """Feeds JobMetrics from Spark's query events (register with ``spark.streams.addListener``)."""

    def __init__(self, metrics: JobMetrics) -> None:
        self.metrics = metrics

    def onQueryStarted(self, event: QueryStartedEvent) -> None:
        log.info("streaming query %s started (run %s)", event.name or event.id, event.runId)
        self.metrics.query_active.set(1)

    def onQueryProgress(self, event: QueryProgressEvent) -> None:
        self.metrics.record_progress(json.loads(event.progress.json))

    def onQueryIdle(self, event: QueryIdleEvent) -> None:
        self.metrics.record_idle()

    def onQueryTerminated(self, event: QueryTerminatedEvent) -> None:
        self.metrics.query_active.set(0)
        if event.exception:
            self.metrics.query_failures.inc()
            log.error("streaming query %s failed: %s", event.id, event.exception.splitlines()[0])


@dataclass
class MetricsServer:
    """A running /metrics HTTP endpoint; ``close()`` stops it."""

    host: str
    port: int
    _server: Any
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_job_metrics(metrics: JobMetrics, port: int, host: str = "127.0.0.1") -> MetricsServer:
    """Serve the registry at http://host:port/metrics in a daemon thread (port 0: any free one)."""
    server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    bound = server.server_address[1]
    log.info("job metrics at http://%s:%d/metrics", host, bound)
    return MetricsServer(host, bound, server, thread)
