"""Starting, running and stopping the job: checkpoint, sinks, metrics and the query in one place.

    job = StreamJob(settings)          # or StreamJob(settings, spark) to reuse a session
    job.start()                        # checks the checkpoint, rebuilds FAISS, starts the query
    job.run(until_idle_s=None)         # blocks; with until_idle_s, returns once caught up and idle
    job.stop()

The checkpoint directory holds Spark's offsets and commits, the influencer state store
(``state.sqlite``, streaming.state.store) and ``scout-job.json`` with the model version, tau and
sponsorship threshold it was first written with. A job started with another model, tau or threshold
is refused (CheckpointMismatchError) before anything runs: the state's h and s come from one model,
its flagged posts and brands from one threshold.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from streaming.config import ScoutSettings
from streaming.errors import CheckpointMismatchError, StreamJobError
from streaming.state.model_version import check_model_version

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.streaming import StreamingQuery

    from streaming.job.commit import BatchCommitter, CommitReport
    from streaming.job.warmup import WorkerKeepAlive
    from streaming.metrics.job import JobMetrics, MetricsServer

log = logging.getLogger(__name__)

CHECKPOINT_INFO = "scout-job.json"
STATE_STORE = "state.sqlite"
QUERY_NAME = "influencer-scout"


@dataclass(frozen=True)
class CheckpointInfo:
    model_version: str
    tau_seconds: float | None
    undisclosed_threshold: float | None = None  # None: a checkpoint from before the sponsorship state


def claim_checkpoint(directory: Path, info: CheckpointInfo) -> CheckpointInfo:
    """Record ``info`` in a new checkpoint, or check it against an existing one; returns what holds."""
    path = directory / CHECKPOINT_INFO
    if not path.is_file():
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(info), indent=2) + "\n")
        return info
    stored = CheckpointInfo(**json.loads(path.read_text()))
    check_model_version(stored.model_version, info.model_version, f"checkpoint {directory}")
    if stored.tau_seconds != info.tau_seconds:
        raise CheckpointMismatchError(
            f"checkpoint {directory} was built with job.tau_seconds={stored.tau_seconds}, the job has "
            f"{info.tau_seconds}; use the same tau or a fresh spark.checkpoint_dir"
        )
    if stored.undisclosed_threshold != info.undisclosed_threshold:
        raise CheckpointMismatchError(
            f"checkpoint {directory} was built with sponsorship.undisclosed_threshold="
            f"{stored.undisclosed_threshold}, the job has {info.undisclosed_threshold}; use the same "
            "threshold or a fresh spark.checkpoint_dir"
        )
    return stored


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    if "Error: " in text:
        return text.split("Error: ", 1)[1].splitlines()[0]
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


class StreamJob:
    """The Influencer Scout streaming job of one process."""

    def __init__(
        self,
        settings: ScoutSettings,
        spark: SparkSession | None = None,
        metrics: JobMetrics | None = None,
        on_commit: Callable[[CommitReport], None] | None = None,
    ) -> None:
        self.settings = settings
        self.spark = spark
        self.metrics = metrics
        self.on_commit = on_commit  # called after each batch's outputs are acknowledged
        self.query: StreamingQuery | None = None
        self.committer: BatchCommitter | None = None
        self._keep_alive: WorkerKeepAlive | None = None
        self._stop_requested = threading.Event()
        self._metrics_server: MetricsServer | None = None
        self._batch_failure: Exception | None = None  # what a foreachBatch call raised, by type

    @property
    def checkpoint_dir(self) -> Path:
        return self.settings.spark.checkpoint_dir.resolve()

    def start(self) -> StreamingQuery:
        from training.model_dir import load_model

        settings = self.settings
        model = load_model(settings.job.model_dir, device="cpu")  # version and labels; no encoder loads
        claim_checkpoint(
            self.checkpoint_dir,
            CheckpointInfo(
                model.version, settings.job.tau_seconds, settings.sponsorship.undisclosed_threshold
            ),
        )
        spark = self.spark or self._session()
        self._start_metrics(spark)
        self.committer = self._committer(model)
        from streaming.job.query import embedded_stream
        from streaming.job.warmup import WorkerKeepAlive, warm_workers

        warm_workers(spark, settings.job)  # every Python worker holds the model before batch one
        self._keep_alive = WorkerKeepAlive(spark, settings.job)
        self._keep_alive.start()
        stream = embedded_stream(spark, settings)
        self.query = (
            stream.writeStream.queryName(QUERY_NAME)
            .foreachBatch(self._batch)
            .option("checkpointLocation", str(self.checkpoint_dir))
            .trigger(processingTime=f"{settings.spark.trigger_seconds} seconds")
            .start()
        )
        log.info(
            "streaming %s -> profiles with model %s, checkpoint %s",
            settings.kafka.topics.posts,
            model.version,
            self.checkpoint_dir,
        )
        return self.query

    def process_all_available(self) -> None:
        """Block until every record now in `posts` is processed (tests and benchmarks)."""
        assert self.query is not None, "start() the job first"
        try:
            self.query.processAllAvailable()
        except Exception as exc:
            raise self._failure(exc) from exc

    def run(self, until_idle_s: float | None = None, poll_s: float = 1.0) -> None:
        """Block while the query runs; with ``until_idle_s``, stop once no input came for that long
        and the query has read everything in `posts`."""
        assert self.query is not None, "start() the job first"
        last_input, seen_batch = time.monotonic(), -1
        try:
            while not self.query.awaitTermination(poll_s):
                if self._stop_requested.is_set():
                    log.info("stop requested: stopping the query")
                    break
                if until_idle_s is None:
                    continue
                progress = self.query.lastProgress
                if progress and progress["batchId"] > seen_batch:
                    seen_batch = progress["batchId"]
                    if progress.get("numInputRows", 0) > 0:
                        last_input = time.monotonic()
                if time.monotonic() - last_input >= until_idle_s and self._caught_up():
                    log.info("no new posts for %.0fs and nothing left to read: stopping", until_idle_s)
                    break
        except Exception as exc:
            raise self._failure(exc) from exc
        finally:
            self.stop()

    def request_stop(self) -> None:
        """Ask ``run`` to stop the query and return (safe from a signal handler: only sets a flag)."""
        self._stop_requested.set()

    def stop(self) -> None:
        if self._keep_alive is not None:
            self._keep_alive.stop()
            self._keep_alive = None
        if self.query is not None and self.query.isActive:
            self.query.stop()
        if self.committer is not None:
            self.committer.close()
            self.committer = None
        if self._metrics_server is not None:
            self._metrics_server.close()
            self._metrics_server = None

    # -- pieces ---------------------------------------------------------------------------------

    def _session(self) -> SparkSession:
        from streaming.infra.spark import build_spark_session

        # Executors on this machine (local or a loopback cluster) run this interpreter too.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        self.spark = build_spark_session(self.settings)
        return self.spark

    def _start_metrics(self, spark: SparkSession) -> None:
        if self.metrics is not None or self.settings.job.metrics_port == 0:
            return
        from streaming.metrics.job import JobMetrics, ScoutQueryListener, serve_job_metrics

        self.metrics = JobMetrics()
        spark.streams.addListener(ScoutQueryListener(self.metrics))
        self._metrics_server = serve_job_metrics(self.metrics, self.settings.job.metrics_port)

    def _committer(self, model: Any) -> BatchCommitter:
        from streaming.infra.kafka_admin import read_topic
        from streaming.job.commit import BatchCommitter
        from streaming.job.sinks.dlq import DeadLetterSink
        from streaming.job.sinks.profiles import ProfilesSink
        from streaming.job.sinks.reclassified import ReclassifiedSink
        from streaming.job.sinks.similar import SimilarSink
        from streaming.job.sinks.undisclosed import UndisclosedSink
        from streaming.job.stateful import StateConfig, StateStage
        from streaming.state.store import StateStore

        settings = self.settings
        kafka = settings.kafka
        job = settings.job
        similar = SimilarSink(kafka, settings.similarity, model.hidden_dim, job.similar_k, model.version)
        records = read_topic(kafka.bootstrap_servers, kafka.topics.profiles, 120.0, kafka.client_properties)
        similar.rebuild(record.value for record in records)
        sinks = [
            DeadLetterSink(kafka),
            ProfilesSink(kafka, model.labels),
            ReclassifiedSink(kafka, model.labels),
            similar,
            UndisclosedSink(kafka),
        ]
        sponsorship = settings.sponsorship
        state = StateStage(
            StateStore(self.checkpoint_dir / STATE_STORE),
            model,
            StateConfig(
                job.tau_seconds, job.top_k_posts, sponsorship.undisclosed_threshold, sponsorship.top_k_posts
            ),
        )
        return BatchCommitter(sinks, self.metrics, self.on_commit, state)

    def _batch(self, output: Any, batch_id: int) -> None:
        """foreachBatch: the committer, with the keep-alive held off while the batch runs."""
        assert self.committer is not None and self._keep_alive is not None
        try:
            with self._keep_alive.in_use():
                self.committer(output, batch_id)
        except Exception as exc:  # the query's caller gets only Py4J text from Spark: keep the object
            self._batch_failure = exc
            raise

    def _caught_up(self) -> bool:
        """True when the last finished batch read through the current end of `posts`.

        Compared with the topic's own end offsets rather than the progress' latestOffset: a batch
        re-run from the offsets log after a restart reports no fresh latestOffset."""
        from streaming.infra.kafka_admin import end_offsets
        from streaming.metrics.job import source_offsets

        progress = self.query.lastProgress if self.query is not None else None
        if not progress or not progress.get("sources"):
            return False
        kafka = self.settings.kafka
        ends = end_offsets(kafka.bootstrap_servers, kafka.topics.posts, kafka.client_properties)
        for source in progress["sources"]:
            done = source_offsets(source.get("endOffset")).get(kafka.topics.posts, {})
            if any(done.get(str(p), 0) < end for p, end in ends.items()):
                return False
        return True

    def _failure(self, exc: BaseException) -> Exception:
        if isinstance(self._batch_failure, CheckpointMismatchError):
            return self._batch_failure
        return StreamJobError(f"the streaming query failed: {_first_line(exc)}")
