"""The streaming DataFrame of the job, stage by stage (no sinks, no checkpoint: see runner.py).

    read (Kafka `posts`) -> parse + validate + embed (one Python UDF) -> embedded posts, dead letters

The per-influencer state stage runs on each micro-batch of this stream inside foreachBatch
(streaming.job.commit, streaming.job.stateful), not as a Spark operator.

``current_timestamp()`` in a streaming query is the micro-batch's timestamp, written in the offset
log with the batch: a replayed batch gets the same processing time, so its outputs are the same.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from streaming.config import ScoutSettings
from streaming.job.embed import parse_and_embed
from streaming.job.parse import read_posts


def embedded_stream(spark: SparkSession, settings: ScoutSettings) -> DataFrame:
    """The job's streaming DataFrame: embed_posts' rows (valid posts with h and score, dead letters
    with their reason) and the micro-batch's ``batch_time``."""
    embedded = parse_and_embed(read_posts(spark, settings), settings.job)
    return embedded.withColumn("batch_time", F.current_timestamp())
