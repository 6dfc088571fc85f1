"""A dead-letter row of the state stage becomes a posts.dlq record of the contract, its Kafka time in
the events' one timestamp format."""

from __future__ import annotations

from collections import namedtuple

import pandas as pd
from jsonschema import Draft202012Validator, FormatChecker

from streaming.events import load_schema
from streaming.job.sinks.dlq import dead_letter_event

Row = namedtuple(
    "Row",
    "dlq_stage dlq_reason dlq_detail source_topic source_partition source_offset source_timestamp value key",
)


def _letter(stamp: object) -> dict:
    return dead_letter_event(
        Row("embed", "image_undecodable", "not an image", "posts", 2, 41, stamp, b"{}", b"ann")
    )


def test_a_dead_letter_follows_its_schema_with_a_utc_millisecond_time() -> None:
    validator = Draft202012Validator(load_schema("dead_letter"), format_checker=FormatChecker())
    naive = _letter(pd.Timestamp("2026-01-02 03:04:06.789"))  # Spark's naive times are UTC
    validator.validate(naive)
    assert naive["source_timestamp"] == "2026-01-02T03:04:06.789Z"
    assert _letter(pd.Timestamp("2026-01-02T04:04:06.789+01:00"))["source_timestamp"] == (
        "2026-01-02T03:04:06.789Z"
    )
    missing = _letter(pd.NaT)
    validator.validate(missing)
    assert missing["source_timestamp"] is None and missing["source_offset"] == 41
