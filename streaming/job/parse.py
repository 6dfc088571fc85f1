"""The front stage of the streaming job: read `posts` from Kafka, parse and validate every record.

    raw = read_posts(spark, settings)           # the Kafka source, one row per record
    parsed = parse_posts(raw, settings.job)     # post columns + dlq_reason/dlq_detail + source
    valid_posts(parsed)                         # rows that passed, for the embed stage
    to_dlq_records(dead_letters(parsed))        # key/value rows for the Kafka sink on posts.dlq

Validation itself is streaming.validate (pure Python), applied with a vectorised pandas UDF. Every
record comes out exactly once: as a valid post or as a dead letter, never dropped. Inside
foreachBatch, persist the parsed batch before using both halves, or the source is read twice.
"""

from __future__ import annotations

import logging

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from streaming import limits
from streaming.config import JobSettings, ScoutSettings
from streaming.errors import EventValidationError
from streaming.events import SPARK_TIMESTAMP_FORMAT
from streaming.events.post_event import DLQ_SCHEMA, ELLIPSIS, POST_SCHEMA, SOURCE_COLUMNS
from streaming.events.post_fields import POST_COLUMNS, POST_KINDS, ValidPost
from streaming.infra.spark import kafka_options
from streaming.validate import ValidationLimits, validate_event

log = logging.getLogger(__name__)

PARSE_RESULT_SCHEMA = StructType(POST_SCHEMA.fields + DLQ_SCHEMA.fields)
_RESULT_COLUMNS = tuple(PARSE_RESULT_SCHEMA.fieldNames())


def read_posts(spark: SparkSession, settings: ScoutSettings) -> DataFrame:
    """The streaming Kafka source on the posts topic (key, value, topic, partition, offset, timestamp...)."""
    reader = (
        spark.readStream.format("kafka")
        .options(**kafka_options(settings.kafka))
        .option("subscribe", settings.kafka.topics.posts)
        .option("startingOffsets", settings.spark.starting_offsets)
    )
    if settings.spark.max_offsets_per_trigger is not None:
        reader = reader.option("maxOffsetsPerTrigger", str(settings.spark.max_offsets_per_trigger))
    return reader.load()


def _result_row(value: bytes | None, limits: ValidationLimits) -> tuple:
    try:
        post: ValidPost = validate_event(value, limits)
    except EventValidationError as exc:
        return (None,) * len(POST_COLUMNS) + (exc.reason, exc.detail)
    return (*post.row(), None, None)


# The pandas dtype of each kind of post field whose values may be missing (rejected rows).
_NULLABLE_DTYPES = {"int": "Int64", "long": "Int64", "boolean": "boolean"}


def validate_values(values: pd.Series, limits: ValidationLimits) -> pd.DataFrame:
    """Validate a batch of raw Kafka values: one row of PARSE_RESULT_SCHEMA's columns per value."""
    frame = pd.DataFrame(
        [_result_row(value, limits) for value in values], columns=list(_RESULT_COLUMNS), index=values.index
    )
    for column, kind in POST_KINDS.items():
        if kind == "timestamp":
            frame[column] = pd.to_datetime(frame[column], utc=True)
        elif kind in _NULLABLE_DTYPES:
            frame[column] = frame[column].astype(_NULLABLE_DTYPES[kind])
    return frame


def _validation_udf(limits: ValidationLimits):  # -> a pandas UDF: binary -> struct
    @F.pandas_udf(PARSE_RESULT_SCHEMA)  # type: ignore[call-overload]
    def validate(values: pd.Series) -> pd.DataFrame:
        return validate_values(values, limits)

    # Marked nondeterministic so the optimiser never copies it into a pushed-down filter, which
    # would validate every record twice (once for `where dlq_reason is null`, once for the columns).
    return validate.asNondeterministic()


def parse_posts(raw: DataFrame, job: JobSettings, keep_values: bool = False) -> DataFrame:
    """Kafka rows -> post columns, ``dlq_reason``/``dlq_detail`` (null when valid) and the source
    columns (key, value kept for rejected rows, topic, partition, offset, timestamp).

    ``keep_values`` keeps the original value of valid rows too (a later stage may still reject them).
    """
    result = _validation_udf(ValidationLimits.from_settings(job))(F.col("value"))
    with_result = with_source(raw, result.alias("_result"))
    keep_value = F.col("_result.dlq_reason").isNotNull() | F.lit(keep_values)
    return with_result.select(
        *(F.col(f"_result.{name}").alias(name) for name in _RESULT_COLUMNS),
        *(
            F.when(keep_value, F.col("value")).alias("value") if name == "value" else F.col(name)
            for name in SOURCE_COLUMNS
        ),
    )


def with_source(raw: DataFrame, *columns: Column) -> DataFrame:
    """Kafka rows -> ``key``, ``value``, the source position (SOURCE_COLUMNS) and ``columns``."""
    return raw.select(
        F.col("key"),
        F.col("value"),
        F.col("topic").alias("source_topic"),
        F.col("partition").alias("source_partition"),
        F.col("offset").alias("source_offset"),
        F.col("timestamp").alias("source_timestamp"),
        *columns,
    )


def valid_posts(parsed: DataFrame) -> DataFrame:
    """The posts that passed: post columns, key and source position (no dlq or value columns)."""
    keep = [*POST_COLUMNS, *(name for name in SOURCE_COLUMNS if name != "value")]
    return parsed.where(F.col("dlq_reason").isNull()).select(*keep)


def dead_letters(parsed: DataFrame) -> DataFrame:
    """The rejected records: reason, detail, source position, original key and value."""
    return parsed.where(F.col("dlq_reason").isNotNull()).select("dlq_reason", "dlq_detail", *SOURCE_COLUMNS)


def _cut(column: Column, max_length: int) -> Column:
    """``column`` (binary) whole up to ``max_length`` bytes, else its first ``max_length`` bytes."""
    return F.when(F.length(column) > max_length, F.substring(column, 1, max_length)).otherwise(column)


def dead_letter_value(stage: str) -> Column:
    """The JSON value of a posts.dlq record (dead_letter.schema.json) from dead_letters' columns.

    Bounded as streaming.events.post_event.dead_letter_record bounds it (streaming.limits): a value
    past ORIGINAL_MAX_BYTES is kept as its prefix plus original_bytes and original_sha256, a key past
    KEY_MAX_BYTES adds key_bytes and key_sha256, the detail is cut with an ellipsis.
    """
    value, key, detail = F.col("value"), F.col("key"), F.col("dlq_detail")
    detail_cut = F.concat(F.substring(detail, 1, limits.DETAIL_MAX_CHARS - 1), F.lit(ELLIPSIS))
    fields = [
        F.lit(1).alias("schema"),
        F.lit(stage).alias("stage"),
        F.col("dlq_reason").alias("reason"),
        F.when(F.length(detail) > limits.DETAIL_MAX_CHARS, detail_cut).otherwise(detail).alias("detail"),
        F.col("source_topic"),
        F.col("source_partition"),
        F.col("source_offset"),
        F.col("source_timestamp"),
        # standard base64 in one line (Spark's base64 may break it into MIME lines of 76 characters)
        F.regexp_replace(F.base64(_cut(value, limits.ORIGINAL_MAX_BYTES)), "[\\r\\n]", "").alias(
            "original_b64"
        ),
    ]
    value_fields = [F.length(value).alias("original_bytes"), F.sha2(value, 256).alias("original_sha256")]
    key_fields = [F.length(key).alias("key_bytes"), F.sha2(key, 256).alias("key_sha256")]
    value_cut = F.coalesce(F.length(value) > limits.ORIGINAL_MAX_BYTES, F.lit(False))
    key_cut = F.coalesce(F.length(key) > limits.KEY_MAX_BYTES, F.lit(False))

    def as_json(*columns: Column) -> Column:
        options = {"timestampFormat": SPARK_TIMESTAMP_FORMAT, "ignoreNullFields": "false"}
        return F.to_json(F.struct(*columns), options)

    return (
        F.when(value_cut & key_cut, as_json(*fields, *value_fields, *key_fields))
        .when(value_cut, as_json(*fields, *value_fields))
        .when(key_cut, as_json(*fields, *key_fields))
        .otherwise(as_json(*fields))
    )


def to_dlq_records(dead: DataFrame, stage: str = "parse") -> DataFrame:
    """``key`` (the original key, cut to KEY_MAX_BYTES) and ``value`` (JSON), ready for the Kafka sink."""
    key = _cut(F.col("key"), limits.KEY_MAX_BYTES).alias("key")
    return dead.select(key, dead_letter_value(stage).alias("value"))


def count_reasons(dead: DataFrame) -> dict[str, int]:
    """Dead letters per reason code (a small batch action, for logs and metrics)."""
    return {row["dlq_reason"]: row["count"] for row in dead.groupBy("dlq_reason").count().collect()}
