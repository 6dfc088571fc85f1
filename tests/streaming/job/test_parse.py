"""The parse stage end to end: a real broker, a real SparkSession, 1,000 valid and 100 bad events."""

from __future__ import annotations

import base64
import json
import logging
import random
import time
from datetime import datetime
from typing import Any

import jsonschema
import pytest

from streaming.config import JobSettings
from streaming.events import load_schema
from streaming.infra import kafka_admin
from streaming.infra.spark import kafka_options
from streaming.job.parse import dead_letters, parse_posts, read_posts, to_dlq_records, valid_posts

pytestmark = pytest.mark.integration
log = logging.getLogger(__name__)

N_VALID, N_EACH_BAD = 1000, 20


def valid_event(i: int) -> dict[str, Any]:
    return {
        "schema": 1,
        "post_id": f"p{i:05d}",
        "influencer": f"user{i % 37}",
        "ts": f"2019-05-{1 + i % 28:02d}T12:{i % 60:02d}:00Z",
        "caption": f"post {i} #travel",
        "hashtags": ["travel"],
        "usertags": [],
        "image_uri": f"/data/images/user{i % 37}/{i}.jpg",
        "likes": i,
        "comments": i % 7,
        "sponsored": i % 5 == 0,
    }


def bad_event(reason: str, i: int) -> bytes:
    event = valid_event(100_000 + i)
    if reason == "bad_json":
        return json.dumps(event).encode()[:-7]
    if reason == "missing_field":
        del event["ts"]
    elif reason == "wrong_type":
        event["likes"] = "many"
    elif reason == "caption_too_long":
        event["caption"] = "x" * 5001  # JobSettings.max_caption_chars defaults to 5000
    elif reason == "empty_influencer":
        event["influencer"] = ""
    return json.dumps(event).encode()


BAD_REASONS = ("bad_json", "missing_field", "wrong_type", "caption_too_long", "empty_influencer")


def test_every_event_comes_out_once_valid_or_dead_lettered_with_its_reason(scout_settings, spark):
    settings = scout_settings(unique=True, spark__max_offsets_per_trigger=600)
    bootstrap, topics = settings.kafka.bootstrap_servers, settings.kafka.topics
    records = [(f"user{i % 37}".encode(), json.dumps(valid_event(i)).encode(), None) for i in range(N_VALID)]
    records += [
        (b"someone", bad_event(reason, i), reason) for reason in BAD_REASONS for i in range(N_EACH_BAD)
    ]
    random.Random(7).shuffle(records)
    sent = kafka_admin.produce(bootstrap, topics.posts, [(key, value) for key, value, _ in records])
    expected_dlq = {
        (meta.partition, meta.offset): (key, value, reason)
        for meta, (key, value, reason) in zip(sent, records, strict=True)
        if reason
    }

    seen_valid: list[tuple[str, int, int]] = []
    batch_ids: list[int] = []

    def sink(batch, batch_id: int) -> None:
        batch.persist()
        seen_valid.extend(
            (row.post_id, row.source_partition, row.source_offset)
            for row in valid_posts(batch).select("post_id", "source_partition", "source_offset").collect()
        )
        (
            to_dlq_records(dead_letters(batch))
            .write.format("kafka")
            .options(**kafka_options(settings.kafka))
            .option("topic", topics.dlq)
            .save()
        )
        batch.unpersist()
        batch_ids.append(batch_id)

    started = time.monotonic()
    query = (
        parse_posts(read_posts(spark, settings), settings.job)
        .writeStream.foreachBatch(sink)
        .trigger(availableNow=True)
        .option("checkpointLocation", str(settings.spark.checkpoint_dir))
        .start()
    )
    assert query.awaitTermination(240), "the parse query did not finish in 240 s"
    assert query.exception() is None
    elapsed = time.monotonic() - started

    # All 1,000 valid posts, each once, with the position they were written at.
    assert sorted(post_id for post_id, _, _ in seen_valid) == [f"p{i:05d}" for i in range(N_VALID)]
    valid_positions = {
        (meta.partition, meta.offset)
        for meta, (_, _, reason) in zip(sent, records, strict=True)
        if not reason
    }
    assert {(p, o) for _, p, o in seen_valid} == valid_positions
    assert len(batch_ids) >= 2, f"maxOffsetsPerTrigger=600 over 1,100 records gave batches {batch_ids}"

    # All 100 malformed ones in posts.dlq, each once, with its reason, position and original bytes.
    dlq = kafka_admin.read_topic(bootstrap, topics.dlq, timeout_s=30)
    assert len(dlq) == len(expected_dlq) == len(BAD_REASONS) * N_EACH_BAD
    validator = jsonschema.Draft202012Validator(load_schema("dead_letter"))
    found = {}
    for record in dlq:
        letter = json.loads(record.value)
        validator.validate(letter)
        position = (letter["source_partition"], letter["source_offset"])
        assert position not in found, f"dead-lettered twice: {position}"
        found[position] = letter
        key, value, reason = expected_dlq[position]
        assert letter["reason"] == reason, (letter, value[:80])
        assert letter["stage"] == "parse" and letter["source_topic"] == topics.posts
        assert base64.b64decode(letter["original_b64"]) == value
        assert record.key == key
    assert set(found) == set(expected_dlq)
    log.info(
        "parse query: %d events in %.1fs, %d micro-batches",
        N_VALID + len(expected_dlq),
        elapsed,
        len(batch_ids),
    )


def test_parse_on_a_batch_frame_keeps_value_only_where_asked_and_dead_letters_null_values(spark):
    rows = [
        (b"anna", json.dumps(valid_event(1)).encode(), "posts", 0, 10, datetime(2026, 1, 2, 3, 4, 5)),
        (b"bob", b"[]", "posts", 1, 11, datetime(2026, 1, 2, 3, 4, 6)),
        (None, None, "posts", 1, 12, datetime(2026, 1, 2, 3, 4, 7)),
    ]
    raw = spark.createDataFrame(
        rows, "key binary, value binary, topic string, partition int, offset long, timestamp timestamp"
    )
    parsed = {row.source_offset: row for row in parse_posts(raw, JobSettings()).collect()}
    assert parsed[10].dlq_reason is None and parsed[10].value is None and parsed[10].post_id == "p00001"
    assert parsed[10].hashtags == ["travel"] and parsed[10].sponsored is False
    assert parsed[10].sponsors is None and parsed[10].mentions == [] and parsed[10].disclosed is False
    spoken = {**valid_event(2), "caption": "new kit from @Acme #ad", "sponsors": ["acme"]}
    ad_frame = spark.createDataFrame([(b"anna", json.dumps(spoken).encode(), *rows[0][2:])], raw.schema)
    ad = parse_posts(ad_frame, JobSettings()).collect()[0]
    assert (ad.sponsors, ad.mentions, ad.disclosures, ad.disclosed) == (["acme"], ["acme"], ["#ad"], True)
    assert parsed[11].dlq_reason == "not_an_object" and parsed[11].value == b"[]"
    assert parsed[12].dlq_reason == "bad_json" and parsed[12].post_id is None
    kept = parse_posts(raw, JobSettings(), keep_values=True).where("source_offset = 10").collect()
    assert kept[0].value == rows[0][1]
    assert valid_posts(parse_posts(raw, JobSettings())).columns == [
        "schema",
        "post_id",
        "influencer",
        "ts",
        "caption",
        "hashtags",
        "usertags",
        "image_uri",
        "image_path",
        "image_b64",
        "likes",
        "comments",
        "sponsored",
        "sponsors",
        "mentions",
        "disclosures",
        "disclosed",
        "key",
        "source_topic",
        "source_partition",
        "source_offset",
        "source_timestamp",
    ]
    letters = {
        json.loads(row.value)["source_offset"]: (row.key, json.loads(row.value))
        for row in to_dlq_records(dead_letters(parse_posts(raw, JobSettings()))).collect()
    }
    assert letters[11][0] == b"bob" and letters[11][1]["original_b64"] == base64.b64encode(b"[]").decode()
    assert letters[11][1]["source_timestamp"] == "2026-01-02T03:04:06.000Z"
    assert letters[12] == (
        None,
        {
            "schema": 1,
            "stage": "parse",
            "reason": "bad_json",
            "detail": "the record has no value (a tombstone)",
            "source_topic": "posts",
            "source_partition": 1,
            "source_offset": 12,
            "source_timestamp": "2026-01-02T03:04:07.000Z",
            "original_b64": None,
        },
    )
