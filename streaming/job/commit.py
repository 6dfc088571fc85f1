"""The one owner of the commit order of a micro-batch (the foreachBatch function of the job).

For micro-batch ``batch_id``, in this order:

    1. collect       the embedded batch once (posts and dead letters; no recomputation)
    2. skip          a batch the state store already holds (its outputs were durable before it was)
    3. fold          the posts into the influencer states, in memory (streaming.job.stateful)
    4. dead letters  -> posts.dlq
    5. profiles      -> influencer-profiles
    6. reclassified  -> influencer-reclassified (profiles whose category changed)
    7. similar       -> FAISS upsert of the changed influencers, their neighbours -> influencer-similar
    8. undisclosed   -> influencer-undisclosed (undisclosed posts scored over the threshold)
    9. flush         every sink, in the same order
   10. state         the new states and the batch id, one store transaction; only then return, so
                     Spark writes the batch's commit after the state and every output

A crash before step 10 ends leaves the store as it was: Spark replays the batch from its offsets log
(same offsets, same batch timestamp), the fold starts from the same states and the sinks rewrite the
same values under the same keys (idempotent per key and batch id; sinks are at-least-once). A crash
after step 10 but before Spark's commit replays a batch the store holds: step 2 skips it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from streaming.job.sinks.base import Sink, SinkBatch

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from streaming.job.stateful import StateStage
    from streaming.metrics.job import JobMetrics

log = logging.getLogger(__name__)


@dataclass
class CommitReport:
    batch_id: int
    posts: int = 0  # posts folded into the state in this batch (dead letters not included)
    written: dict[str, int] = field(default_factory=dict)  # sink name -> records
    seconds: float = 0.0  # the sinks: steps 4-9
    sink_seconds: dict[str, float] = field(default_factory=dict)  # sink name (and "flush") -> seconds
    influencers: int = 0  # influencers updated
    state_seconds: float = 0.0  # the state stage: fold (3) and store commit (10)
    skipped: bool = False  # a replay of a batch the state store already holds
    collect_seconds: float = 0.0  # step 1: the executors' parse + embed stage and the transfer


class BatchCommitter:
    """Writes each micro-batch through ``state`` and ``sinks`` in the order of the module's steps."""

    def __init__(
        self,
        sinks: Sequence[Sink],
        metrics: JobMetrics | None = None,
        on_commit: Callable[[CommitReport], None] | None = None,
        state: StateStage | None = None,
    ) -> None:
        names = [sink.name for sink in sinks]
        assert len(set(names)) == len(names), f"sink names must be unique, got {names}"
        self.sinks = tuple(sinks)
        self.metrics = metrics
        self.on_commit = on_commit
        self.state = state
        self.last_batch_id: int | None = None

    def __call__(self, output: DataFrame, batch_id: int) -> None:
        """foreachBatch entry point: the embedded batch (streaming.job.embed's columns)."""
        assert self.state is not None, "the job's committer needs its state stage"
        started = time.perf_counter()
        embedded = output.toPandas()  # 1. collect: runs the parse + embed stage on the executors
        self.fold_and_commit(batch_id, embedded, collect_seconds=time.perf_counter() - started)

    def fold_and_commit(
        self, batch_id: int, embedded: pd.DataFrame, collect_seconds: float = 0.0
    ) -> CommitReport:
        assert self.state is not None
        if self.state.already_committed(batch_id):  # 2.
            log.info("batch %d is in the state store already (a replay after a crash): skipped", batch_id)
            return self._report(CommitReport(batch_id, skipped=True, collect_seconds=collect_seconds))
        dead = embedded["dlq_reason"].notna()
        step = self.state.fold(embedded[~dead])  # 3.
        dead_letters = embedded[dead].reset_index(drop=True)
        report = self.commit_batch(SinkBatch(batch_id, step.profiles, dead_letters, step.undisclosed))
        report.state_seconds = step.seconds + self.state.commit(batch_id, step)  # 10.
        report.influencers = len(step.profiles)
        report.collect_seconds = collect_seconds
        if self.metrics is not None:
            self.metrics.observe_state_stage(report.state_seconds, len(step.profiles), self.state.store.size)
        return self._report(report)

    def commit(self, batch_id: int, frame: pd.DataFrame) -> CommitReport:
        """Steps 4-8 for a frame of the state stage's output rows (a ``kind`` column)."""
        return self._report(self.commit_batch(SinkBatch.from_frame(batch_id, frame)))

    def commit_batch(self, batch: SinkBatch) -> CommitReport:
        started = time.perf_counter()
        batch_id = batch.batch_id
        if self.last_batch_id is not None and batch_id <= self.last_batch_id:
            log.info("batch %d replayed (last written %d): same values again", batch_id, self.last_batch_id)
        report = CommitReport(batch_id, posts=int(batch.profiles["trigger_posts"].map(len).sum()))
        for sink in self.sinks:  # 4.-8.
            sink_started = time.perf_counter()
            report.written[sink.name] = sink.write(batch)
            report.sink_seconds[sink.name] = time.perf_counter() - sink_started
        flush_started = time.perf_counter()
        for sink in self.sinks:  # 9.
            sink.flush()
        report.sink_seconds["flush"] = time.perf_counter() - flush_started
        self.last_batch_id = batch_id
        report.seconds = time.perf_counter() - started
        self._account(batch)
        return report

    def _report(self, report: CommitReport) -> CommitReport:
        log.info("batch %d committed in %.2fs (state %.3fs): %s", report.batch_id, report.seconds,
                 report.state_seconds, report.written)  # fmt: skip
        if self.on_commit is not None:
            self.on_commit(report)
        return report

    def _account(self, batch: SinkBatch) -> None:
        if self.metrics is None:
            return
        if len(batch.dead_letters):
            self.metrics.count_dead_letters(batch.dead_letters["dlq_reason"].value_counts().to_dict())
        self.metrics.count_reclassifications(len(batch.reclassified))

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
        if self.state is not None:
            self.state.close()
