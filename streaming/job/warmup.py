"""Python workers that hold the model before the first micro-batch, and keep holding it when quiet.

    warm_workers(spark, settings.job)                # once, before the query starts
    keeper = WorkerKeepAlive(spark, settings.job)    # a daemon thread for quiet periods
    keeper.start(); with keeper.in_use(): <run a micro-batch>; keeper.stop()

A Python worker loads the model the first time it runs the parse + embed UDF (seconds with the
default encoders). ``warm_workers`` runs that UDF on a small static batch with one task per core
of the application, so the workers a micro-batch gets are loaded ones. Spark ends every idle Python
worker of an executor once none of them has been used for a minute (a fixed timeout of pyspark's
worker factory); ``WorkerKeepAlive`` runs a one-row batch through the UDF whenever no micro-batch
ran for ``interval_s``, so a stream that goes quiet does not pay the model load again when posts
resume.
"""

from __future__ import annotations

import base64
import io
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from pyspark.sql import DataFrame, SparkSession

from streaming.config import JobSettings
from streaming.events import SCHEMA_VERSION

log = logging.getLogger(__name__)

# The columns of Spark's Kafka source that the job reads (Spark's DDL).
_KAFKA_ROW = "key binary, value binary, topic string, partition int, offset long, timestamp timestamp"
KEEP_ALIVE_S = 30.0  # half of the worker factory's idle timeout


def _sample_value() -> bytes:
    """A valid post event with a small inline image: it goes through validation and both towers."""
    import json

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 120, 40)).save(buffer, format="JPEG")
    event = {
        "schema": SCHEMA_VERSION, "post_id": "warm-up", "influencer": "warm_up",
        "ts": "2024-01-01T00:00:00Z", "caption": "warm-up post #warmup", "hashtags": ["warmup"],
        "usertags": [], "image_b64": base64.b64encode(buffer.getvalue()).decode("ascii"),
    }  # fmt: skip
    return json.dumps(event).encode("utf-8")


def _sample_batch(spark: SparkSession, tasks: int) -> DataFrame:
    value, now = _sample_value(), datetime.now(UTC)
    rows = [(b"warm_up", value, "warm-up", task, task, now) for task in range(tasks)]
    # one row in each of ``tasks`` partitions: every task runs the UDF (a repartition may leave some empty)
    return spark.createDataFrame(spark.sparkContext.parallelize(rows, tasks), _KAFKA_ROW)


def warm_workers(spark: SparkSession, job: JobSettings, tasks: int | None = None) -> float:
    """Run the parse + embed UDF with one task per core (or ``tasks``); returns the seconds it took."""
    from streaming.job.embed import parse_and_embed

    started = time.perf_counter()
    count = tasks or spark.sparkContext.defaultParallelism
    rows = parse_and_embed(_sample_batch(spark, count), job).select("dlq_reason").collect()
    failed = [row.dlq_reason for row in rows if row.dlq_reason is not None]
    assert not failed, f"the warm-up post was rejected: {failed}"
    seconds = time.perf_counter() - started
    log.info("%d Python worker task(s) loaded the model in %.1fs", count, seconds)
    return seconds


class WorkerKeepAlive:
    """Runs a one-task warm-up whenever no micro-batch used the Python workers for ``interval_s``."""

    def __init__(self, spark: SparkSession, job: JobSettings, interval_s: float = KEEP_ALIVE_S) -> None:
        self.spark, self.job, self.interval_s = spark, job, interval_s
        self._last = time.monotonic()
        self._busy = 0  # micro-batches running now
        self.runs = 0  # keep-alive batches run so far
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="python-worker-keep-alive", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def touch(self) -> None:
        """A micro-batch just used the workers."""
        self._last = time.monotonic()

    @contextmanager
    def in_use(self) -> Iterator[None]:
        """Around a micro-batch: no keep-alive batch starts meanwhile (it would take a worker the
        micro-batch needs, and Spark would start a cold one for it)."""
        with self._lock:
            self._busy += 1
        try:
            yield
        finally:
            with self._lock:
                self._busy -= 1
            self.touch()

    def _run(self) -> None:
        while not self._stop.wait(min(5.0, self.interval_s)):
            with self._lock:
                busy = self._busy > 0
            if busy or time.monotonic() - self._last < self.interval_s:
                continue
            try:
                warm_workers(self.spark, self.job, tasks=1)
                self.runs += 1
            except Exception as exc:  # the session is going away; the query reports its own errors
                log.warning("keep-alive batch failed: %s", str(exc).splitlines()[0] if str(exc) else exc)
            self.touch()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
