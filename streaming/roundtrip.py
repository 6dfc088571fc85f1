"""`scout roundtrip`: the parse stage's round trip on generated events, from a bare machine to a summary.

Starts the broker (unless one answers already), produces generated valid and malformed post events
to `posts`, runs the parse stage from the offsets it started at until every event is accounted for
(valid, or in `posts.dlq` with a reason), prints what happened and stops what it started.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import typer

log = logging.getLogger(__name__)

MALFORMED_KINDS = (
    "bad_json",
    "missing_field",
    "wrong_type",
    "caption_too_long",
    "empty_influencer",
    "no_image",
    "bad_timestamp",
    "not_an_object",
)
CATEGORIES = ("beauty", "family", "fashion", "fitness", "food", "interior", "pet", "travel")


def _tiny_png(rng: random.Random) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), tuple(rng.randrange(256) for _ in range(3))).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def demo_events(
    n_valid: int, n_malformed: int, seed: int = 0, max_caption_chars: int = 5000
) -> list[tuple[bytes, bytes, str | None]]:
    """(key, value, expected dead-letter reason or None), shuffled; deterministic by seed."""
    rng = random.Random(seed)
    events: list[tuple[bytes, bytes, str | None]] = []
    for i in range(n_valid + n_malformed):
        topic = CATEGORIES[i % len(CATEGORIES)]
        influencer = f"{topic}_lover_{i % 25}"
        event: dict[str, Any] = {
            "schema": 1,
            "post_id": f"demo-{seed}-{i}",
            "influencer": influencer,
            "ts": f"2024-0{1 + i % 9}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
            "caption": f"My {topic} moment #{topic}",
            "hashtags": [topic],
            "usertags": [],
            "image_b64": _tiny_png(rng),
            "likes": rng.randrange(10_000),
            "comments": rng.randrange(300),
            "sponsored": rng.random() < 0.1,
        }
        reason = MALFORMED_KINDS[i % len(MALFORMED_KINDS)] if i >= n_valid else None
        broken = _break(event, reason, max_caption_chars)
        value = json.dumps(broken).encode() if reason != "bad_json" else b'{"schema": 1,'
        events.append((influencer.encode(), value, reason))
    rng.shuffle(events)
    return events


def _break(event: dict[str, Any], reason: str | None, max_caption_chars: int) -> Any:
    if reason == "missing_field":
        del event["post_id"]
    elif reason == "wrong_type":
        event["hashtags"] = "not-a-list"
    elif reason == "caption_too_long":
        event["caption"] = "x" * (max_caption_chars + 1)
    elif reason == "empty_influencer":
        event["influencer"] = ""
    elif reason == "no_image":
        del event["image_b64"]
    elif reason == "bad_timestamp":
        event["ts"] = "last tuesday"
    elif reason == "not_an_object":
        return [event]
    return event


@dataclass
class Tally:
    valid: int = 0
    dead: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    query_s: float = 0.0

    @property
    def total(self) -> int:
        return self.valid + sum(self.dead.values())


def _run_parse_query(settings, starting_offsets: str, tally: Tally, timeout_s: float) -> None:
    from streaming.infra.spark import build_spark_session, kafka_options
    from streaming.job.parse import count_reasons, dead_letters, parse_posts, read_posts, to_dlq_records

    spark = build_spark_session(settings)

    def sink(batch, batch_id: int) -> None:
        batch.persist()
        dead = dead_letters(batch)
        (
            to_dlq_records(dead)
            .write.format("kafka")
            .options(**kafka_options(settings.kafka))
            .option("topic", settings.kafka.topics.dlq)
            .save()
        )
        tally.valid += batch.where("dlq_reason IS NULL").count()
        tally.dead.update(count_reasons(dead))
        tally.batches += 1
        batch.unpersist()
        log.info(
            "batch %d: %d valid, %d dead letters so far", batch_id, tally.valid, sum(tally.dead.values())
        )

    spark_settings = settings.spark.model_copy(update={"starting_offsets": starting_offsets})
    try:
        with tempfile.TemporaryDirectory(prefix="scout-demo-checkpoint-") as checkpoint:
            raw = read_posts(spark, settings.model_copy(update={"spark": spark_settings}))
            began = time.monotonic()
            query = (
                parse_posts(raw, settings.job)
                .writeStream.foreachBatch(sink)
                .trigger(availableNow=True)
                .option("checkpointLocation", checkpoint)
                .start()
            )
            finished = query.awaitTermination(timeout_s)
            tally.query_s = time.monotonic() - began
            if not finished:
                query.stop()
                log.error("the parse query did not finish within %.0fs", timeout_s)
    finally:
        spark.stop()


def roundtrip(
    ctx: typer.Context,
    valid: int = typer.Option(500, min=0, help="Valid post events to produce."),
    malformed: int = typer.Option(40, min=0, help="Malformed events to produce (several kinds)."),
    seed: int = typer.Option(0, help="Seed of the generated events."),
    timeout_s: float = typer.Option(300.0, help="Give up when the query has not finished by then."),
) -> None:
    """Run the round trip on generated events and print what happened.

    Example: scout roundtrip --valid 500 --malformed 40
    """
    from streaming.cli import settings_of
    from streaming.infra import kafka_admin
    from streaming.infra.kafka_broker import ensure_broker
    from streaming.infra.spark import starting_offsets

    settings, started_broker = ensure_broker(settings_of(ctx))
    bootstrap, topics = settings.kafka.bootstrap_servers, settings.kafka.topics
    try:
        start = kafka_admin.end_offsets(bootstrap, topics.posts, settings.kafka.client_properties)
        events = demo_events(valid, malformed, seed, settings.job.max_caption_chars)
        began = time.monotonic()
        kafka_admin.produce(
            bootstrap, topics.posts, [(k, v) for k, v, _ in events], settings.kafka.client_properties
        )
        produce_s = time.monotonic() - began
        tally = Tally()
        _run_parse_query(settings, starting_offsets(topics.posts, start), tally, timeout_s)
    finally:
        if started_broker is not None:
            started_broker.stop()
    expected = Counter(reason for _, _, reason in events if reason)
    lines = [
        f"produced {len(events)} events to {topics.posts!r} ({valid} valid, {malformed} malformed) "
        f"in {produce_s:.1f}s",
        f"valid posts out: {tally.valid}",
        f"dead letters in {topics.dlq!r}: {sum(tally.dead.values())}",
        *(f"  {reason:<18} {count}" for reason, count in sorted(tally.dead.items())),
        f"parse query: {tally.batches} micro-batches in {tally.query_s:.1f}s",
    ]
    accounted = tally.valid == valid and tally.dead == expected
    lines.append(
        "every event accounted for"
        if accounted
        else f"MISMATCH: expected {valid} valid and dead letters {dict(expected)}"
    )
    typer.echo("\n".join(lines))
    if not accounted:
        raise typer.Exit(1)
