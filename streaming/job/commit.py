"""The one owner of the commit order of a micro-batch (the foreachBatch function of the job).

For micro-batch ``batch_id``, in this order:

    1. collect     the state stage's output once (profiles + dead letters; no recomputation)
    2. dead letters  -> posts.dlq
    3. profiles      -> influencer-profiles
    4. reclassified  -> influencer-reclassified (profiles whose category changed)
    5. similar       -> FAISS upsert of the changed influencers, their neighbours -> influencer-similar
    6. flush       every sink, in the same order; only then return, so Spark writes the batch's
                   commit after every output is acknowledged

A crash before step 6 ends replays the batch from the checkpoint: the state stage recomputes the
very same rows (same offsets, same state version, same batch timestamp), so the sinks rewrite the
same values under the same keys (idempotent per key and batch id; sinks are at-least-once).
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

    from streaming.metrics.job import JobMetrics

log = logging.getLogger(__name__)


@dataclass
class CommitReport:
    batch_id: int
    posts: int = 0  # posts folded into the state in this batch (dead letters not included)
    written: dict[str, int] = field(default_factory=dict)  # sink name -> records
    seconds: float = 0.0


class BatchCommitter:
    """Writes each micro-batch through ``sinks`` in their given order (see the module's steps)."""

    def __init__(
        self,
        sinks: Sequence[Sink],
        metrics: JobMetrics | None = None,
        on_commit: Callable[[CommitReport], None] | None = None,
    ) -> None:
        names = [sink.name for sink in sinks]
        assert len(set(names)) == len(names), f"sink names must be unique, got {names}"
        self.sinks = tuple(sinks)
        self.metrics = metrics
        self.on_commit = on_commit
        self.last_batch_id: int | None = None

    def __call__(self, output: DataFrame, batch_id: int) -> None:
        """foreachBatch entry point."""
        self.commit(batch_id, output.toPandas())  # 1. collect

    def commit(self, batch_id: int, frame: pd.DataFrame) -> CommitReport:
        started = time.perf_counter()
        if self.last_batch_id is not None and batch_id <= self.last_batch_id:
            log.info("batch %d replayed (last written %d): same values again", batch_id, self.last_batch_id)
        batch = SinkBatch.from_frame(batch_id, frame)
        report = CommitReport(batch_id, posts=int(batch.profiles["trigger_posts"].map(len).sum()))
        for sink in self.sinks:  # 2.-5.
            report.written[sink.name] = sink.write(batch)
        for sink in self.sinks:  # 6.
            sink.flush()
        self.last_batch_id = batch_id
        report.seconds = time.perf_counter() - started
        self._account(batch)
        log.info("batch %d committed in %.2fs: %s", batch_id, report.seconds, report.written)
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
