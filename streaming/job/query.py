"""The streaming DataFrame of the job, stage by stage (no sinks, no checkpoint: see runner.py).

    read (Kafka `posts`) -> parse + validate -> embed -> per-influencer state -> profile rows

``current_timestamp()`` in a streaming query is the micro-batch's timestamp, written in the offset
log with the batch: a replayed batch gets the same processing time, so its outputs are the same.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from streaming.config import ScoutSettings
from streaming.job.embed import EmbedConfig, embed_posts
from streaming.job.parse import parse_posts, read_posts
from streaming.job.stateful import StateConfig, update_profiles


def state_config(settings: ScoutSettings, model_version: str) -> StateConfig:
    job = settings.job
    return StateConfig(
        model_dir=str(job.model_dir.resolve()),
        model_version=model_version,
        tau_seconds=job.tau_seconds,
        top_k=job.top_k_posts,
    )


def profile_stream(spark: SparkSession, settings: ScoutSettings, model_version: str) -> DataFrame:
    """The job's streaming DataFrame: stateful.OUTPUT_DDL rows (profiles and dead letters)."""
    raw = read_posts(spark, settings)
    parsed = parse_posts(raw, settings.job, keep_values=True).withColumn("batch_time", F.current_timestamp())
    embedded = embed_posts(parsed, EmbedConfig.from_settings(settings.job))
    return update_profiles(embedded, state_config(settings, model_version))
