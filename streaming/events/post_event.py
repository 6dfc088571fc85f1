"""The post event as Spark sees it after parsing, and the dead-letter record layout.

The JSON contracts are post_event.schema.json (input on `posts`, its fields in
streaming.events.post_fields) and dead_letter.schema.json (value on `posts.dlq`); this module is
their typed mirror for Spark and for plain Python writers.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    DataType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from streaming import limits
from streaming.events import SCHEMA_VERSION, utc_timestamp
from streaming.events.post_fields import POST_COLUMNS, POST_KINDS

# The Spark type of each kind of post field (streaming.events.post_fields).
_SPARK_TYPES: dict[str, DataType] = {
    "int": IntegerType(),
    "long": LongType(),
    "string": StringType(),
    "strings": ArrayType(StringType()),
    "timestamp": TimestampType(),  # UTC
    "boolean": BooleanType(),
}
# One valid post (ValidPost's fields, in order); every field nullable so a rejected row fits too.
POST_SCHEMA = StructType([StructField(name, _SPARK_TYPES[kind]) for name, kind in POST_KINDS.items()])
assert tuple(POST_SCHEMA.fieldNames()) == POST_COLUMNS

# Why a row was rejected: both null for a valid post.
DLQ_SCHEMA = StructType(
    [
        StructField("dlq_reason", StringType()),
        StructField("dlq_detail", StringType()),
    ]
)

# Where the Kafka record came from; `value` is kept for rejected rows only (null for valid ones).
SOURCE_SCHEMA = StructType(
    [
        StructField("key", BinaryType()),
        StructField("value", BinaryType()),
        StructField("source_topic", StringType()),
        StructField("source_partition", IntegerType()),
        StructField("source_offset", LongType()),
        StructField("source_timestamp", TimestampType()),
    ]
)
SOURCE_COLUMNS: tuple[str, ...] = tuple(SOURCE_SCHEMA.fieldNames())

# The value of a posts.dlq record, field by field (dead_letter.schema.json); the fields of
# DEAD_LETTER_CUT_FIELDS follow only when the original value (or key) was too long to keep whole.
DEAD_LETTER_FIELDS: tuple[str, ...] = (
    "schema",
    "stage",
    "reason",
    "detail",
    "source_topic",
    "source_partition",
    "source_offset",
    "source_timestamp",
    "original_b64",
)
DEAD_LETTER_CUT_FIELDS: tuple[str, ...] = ("original_bytes", "original_sha256", "key_bytes", "key_sha256")
ELLIPSIS = "\u2026"


def bounded_detail(detail: str) -> str:
    """``detail`` cut to DETAIL_MAX_CHARS code points, the last one an ellipsis when cut."""
    if len(detail) <= limits.DETAIL_MAX_CHARS:
        return detail
    return detail[: limits.DETAIL_MAX_CHARS - 1] + ELLIPSIS


def dead_letter_key(key: bytes | None) -> bytes | None:
    """The Kafka key of a posts.dlq record: the original key, its prefix past KEY_MAX_BYTES."""
    return key if key is None or len(key) <= limits.KEY_MAX_BYTES else key[: limits.KEY_MAX_BYTES]


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
    key: bytes | None = None,
) -> dict[str, Any]:
    """A posts.dlq value as a dict (for writers outside Spark); send it under dead_letter_key(key).

    Bounded whatever it is given (streaming.limits): the original value is kept whole up to
    ORIGINAL_MAX_BYTES, past that as its prefix with ``original_bytes`` and ``original_sha256``; a
    key past KEY_MAX_BYTES adds ``key_bytes`` and ``key_sha256``. The source position always names
    the record to read again for the whole bytes.
    """
    value_cut = original is not None and len(original) > limits.ORIGINAL_MAX_BYTES
    kept = original[: limits.ORIGINAL_MAX_BYTES] if value_cut else original
    record: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "stage": stage,
        "reason": reason,
        "detail": bounded_detail(detail),
        "source_topic": source_topic,
        "source_partition": source_partition,
        "source_offset": source_offset,
        "source_timestamp": None if source_timestamp is None else utc_timestamp(source_timestamp),
        "original_b64": None if kept is None else base64.b64encode(kept).decode("ascii"),
    }
    assert tuple(record) == DEAD_LETTER_FIELDS
    if value_cut:
        record["original_bytes"] = len(original)
        record["original_sha256"] = hashlib.sha256(original).hexdigest()
    if key is not None and len(key) > limits.KEY_MAX_BYTES:
        record["key_bytes"] = len(key)
        record["key_sha256"] = hashlib.sha256(key).hexdigest()
    return record
