"""The post event as Spark sees it after parsing, and the dead-letter record layout.

The JSON contracts are post_event.schema.json (input on `posts`) and dead_letter.schema.json (value
on `posts.dlq`); this module is their typed mirror for Spark and for plain Python writers.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from streaming.events import SCHEMA_VERSION

# One valid post (streaming.validate.ValidPost); every field nullable so a rejected row fits too.
POST_SCHEMA = StructType([
    StructField("schema", IntegerType()),
    StructField("post_id", StringType()),
    StructField("influencer", StringType()),
    StructField("ts", TimestampType()),  # event time, UTC
    StructField("caption", StringType()),
    StructField("hashtags", ArrayType(StringType())),
    StructField("usertags", ArrayType(StringType())),
    StructField("image_uri", StringType()),  # as sent
    StructField("image_path", StringType()),  # image_uri resolved inside the image roots
    StructField("image_b64", StringType()),
    StructField("likes", LongType()),
    StructField("comments", LongType()),
    StructField("sponsored", BooleanType()),
])
POST_COLUMNS: tuple[str, ...] = tuple(POST_SCHEMA.fieldNames())

# Why a row was rejected: both null for a valid post.
DLQ_SCHEMA = StructType([
    StructField("dlq_reason", StringType()),
    StructField("dlq_detail", StringType()),
])

# Where the Kafka record came from; `value` is kept for rejected rows only (null for valid ones).
SOURCE_SCHEMA = StructType([
    StructField("key", BinaryType()),
    StructField("value", BinaryType()),
    StructField("source_topic", StringType()),
    StructField("source_partition", IntegerType()),
    StructField("source_offset", LongType()),
    StructField("source_timestamp", TimestampType()),
])
SOURCE_COLUMNS: tuple[str, ...] = tuple(SOURCE_SCHEMA.fieldNames())

# The value of a posts.dlq record, field by field (dead_letter.schema.json).
DEAD_LETTER_FIELDS: tuple[str, ...] = (
    "schema", "stage", "reason", "detail", "source_topic", "source_partition", "source_offset",
    "source_timestamp", "original_b64",
)


def dead_letter_record(
    *,
    stage: str,
    reason: str,
    detail: str,
    source_topic: str,
    source_partition: int,
    source_offset: int,
    source_timestamp: datetime | None,
    original: bytes | None,
) -> dict[str, Any]:
    """A posts.dlq value as a dict (for writers outside Spark); the key is the original key."""
    record = {
        "schema": SCHEMA_VERSION,
        "stage": stage,
        "reason": reason,
        "detail": detail,
        "source_topic": source_topic,
        "source_partition": source_partition,
        "source_offset": source_offset,
        "source_timestamp": None if source_timestamp is None else source_timestamp.isoformat(),
        "original_b64": None if original is None else base64.b64encode(original).decode("ascii"),
    }
    assert tuple(record) == DEAD_LETTER_FIELDS
    return record
