"""Records the broker takes but the job must refuse, and that are huge themselves: a 9,000,000-byte
post event (between the validation limit and the broker's cap) under a 200,000-byte key, and
influencer names that are unbounded or spoofing. Each becomes a bounded dead letter that names its
source record, and the job lives on: the valid posts sent after them are profiled."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime

import jsonschema
import pytest

from streaming import limits
from streaming.events import load_schema
from streaming.events.post_event import dead_letter_key, dead_letter_record
from streaming.infra import kafka_admin
from streaming.replay import encode
from tests.streaming.job.helpers import latest_by_influencer, read_json, topic_settings

pytestmark = pytest.mark.integration

HUGE_EVENT_BYTES = 9_000_000
HUGE_KEY = b"k" * 200_000


def huge_event(template: dict) -> bytes:
    event = {**template, "post_id": "huge-caption", "caption": ""}
    event["caption"] = "x" * (HUGE_EVENT_BYTES - len(encode(event)))
    value = encode(event)
    assert len(value) == HUGE_EVENT_BYTES
    return value


def test_a_huge_event_is_dead_lettered_within_the_limits_and_the_job_lives_on(
    kafka_broker, spark, tiny_world, random_model, tmp_path
) -> None:
    from streaming.job.runner import StreamJob

    settings = topic_settings(kafka_broker, tmp_path / "checkpoint", random_model, tiny_world)
    assert settings.job.max_event_bytes < HUGE_EVENT_BYTES
    assert HUGE_EVENT_BYTES + len(HUGE_KEY) < limits.MESSAGE_MAX_BYTES  # the broker takes it
    bootstrap, topics = settings.kafka.bootstrap_servers, settings.kafka.topics
    influencer, posts = sorted(tiny_world.posts.items())[0]
    template = dict(posts[0])
    bad = {
        "oversized_event": (HUGE_KEY, huge_event(template)),
        "influencer_too_long": (
            b"a" * 10_000,
            encode({**template, "post_id": "long", "influencer": "a" * 10_000}),
        ),
        "influencer_forbidden_char": (
            "an\x00na\u202e".encode(),
            encode({**template, "post_id": "spoof", "influencer": "an\x00na\u202e"}),
        ),
    }
    half = len(tiny_world.events) // 2
    job = StreamJob(settings, spark)
    job.start()
    try:
        sent = kafka_admin.produce(bootstrap, topics.posts, [*tiny_world.events[:half], *bad.values()])
        job.process_all_available()
        kafka_admin.produce(bootstrap, topics.posts, tiny_world.events[half:])
        job.process_all_available()  # would raise had the dead letter stopped the query
    finally:
        job.stop()

    records = kafka_admin.read_topic(bootstrap, topics.dlq, 60.0)
    letters = {json.loads(record.value)["reason"]: (record, json.loads(record.value)) for record in records}
    assert sorted(letters) == sorted(bad) and len(records) == len(bad)
    validator = jsonschema.Draft202012Validator(load_schema("dead_letter"))
    for (key, _), meta, reason in zip(bad.values(), sent[half:], bad, strict=True):
        record, letter = letters[reason]
        validator.validate(letter)
        assert len(record.value) + len(record.key or b"") <= limits.DEAD_LETTER_MAX_BYTES
        assert record.key == dead_letter_key(key)
        assert (letter["source_topic"], letter["source_partition"], letter["source_offset"]) == (
            topics.posts, meta.partition, meta.offset,
        )  # fmt: skip
    record, huge = letters["oversized_event"]
    value = bad["oversized_event"][1]
    assert base64.b64decode(huge["original_b64"], validate=True) == value[: limits.ORIGINAL_MAX_BYTES]
    assert huge["original_bytes"] == HUGE_EVENT_BYTES
    assert huge["original_sha256"] == hashlib.sha256(value).hexdigest()
    assert record.key == HUGE_KEY[: limits.KEY_MAX_BYTES] and huge["key_bytes"] == len(HUGE_KEY)
    assert huge["key_sha256"] == hashlib.sha256(HUGE_KEY).hexdigest()
    print(f"dead letter of the {HUGE_EVENT_BYTES}-byte event: {len(record.value)} bytes")  # noqa: T201

    profiles = read_json(settings, topics.profiles)
    profile_validator = jsonschema.Draft202012Validator(load_schema("profile"))
    for profile in profiles:
        profile_validator.validate(profile)
    latest = latest_by_influencer(profiles)
    assert {name: p["post_count"] for name, p in latest.items()} == {
        name: len(events) for name, events in tiny_world.posts.items()
    }
    assert latest[influencer]["post_count"] == len(posts)  # the dead letters touched no state


def test_spark_and_python_dead_letters_agree(spark) -> None:
    """streaming.job.parse.to_dlq_records (Spark, the round trip) bounds as dead_letter_record does."""
    from streaming.job.parse import to_dlq_records

    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    cases = [
        (b"anna", b"[]", "short detail"),
        (None, None, "the record has no value"),
        (HUGE_KEY, b"v" * (limits.ORIGINAL_MAX_BYTES + 1), "d" * 5000),
        (b"k" * limits.KEY_MAX_BYTES, b"v" * limits.ORIGINAL_MAX_BYTES, "\u202e" * limits.DETAIL_MAX_CHARS),
    ]
    rows = [("bad_json", detail, key, value, "posts", 0, offset, stamp)
            for offset, (key, value, detail) in enumerate(cases)]  # fmt: skip
    dead = spark.createDataFrame(
        rows,
        "dlq_reason string, dlq_detail string, key binary, value binary, source_topic string, "
        "source_partition int, source_offset long, source_timestamp timestamp",
    )
    got = {json.loads(row.value)["source_offset"]: row for row in to_dlq_records(dead).collect()}
    for offset, (key, value, detail) in enumerate(cases):
        expected = dead_letter_record(
            stage="parse", reason="bad_json", detail=detail, source_topic="posts", source_partition=0,
            source_offset=offset, source_timestamp=stamp, original=value, key=key,
        )  # fmt: skip
        letter = json.loads(got[offset].value)
        assert datetime.fromisoformat(letter.pop("source_timestamp")) == stamp
        expected.pop("source_timestamp")
        assert letter == expected, offset
        assert got[offset].key == dead_letter_key(key)
