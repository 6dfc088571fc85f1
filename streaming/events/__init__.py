"""Event contracts on Kafka: JSON Schema files beside the code that writes them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from importlib import resources

SCHEMA_VERSION = 1


@cache
def load_schema(name: str) -> dict:
    """The JSON Schema ``<name>.schema.json`` of this package (post_event, profile, ...)."""
    text = resources.files(__package__).joinpath(f"{name}.schema.json").read_text()
    return json.loads(text)


# Spark's datetime pattern for the same format (to_json's timestampFormat).
SPARK_TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"


def utc_timestamp(value: datetime) -> str:
    """The one timestamp format of every event: ISO-8601 in UTC, milliseconds, a Z.

    ``2019-05-01T12:00:00.000Z``; what Spark writes with SPARK_TIMESTAMP_FORMAT. A naive value
    (a pandas timestamp from Spark, whose session time zone is UTC) is taken as UTC.
    """
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp (nanoseconds) -> datetime (microseconds)
        value = value.to_pydatetime(warn=False)
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
