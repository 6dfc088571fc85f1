"""Replay a dataset copy into the `posts` topic as post events, in global time order.

Pure parts first: ``to_post_event`` builds one event (the contract of
streaming/events/post_event.schema.json), ``malformed_event`` spoils one on purpose for drills, and
``interleave`` decides, by seed, where the malformed events go. ``replay`` is the thin producer loop:
keyed by influencer (one influencer's posts stay in one partition, in order), paced to ``rate``
events/s or as fast as the broker takes them, every send acknowledged or counted as failed.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from streaming.config import KafkaSettings
from streaming.errors import BrokerError, ReplayError
from streaming.events import SCHEMA_VERSION
from streaming.events.post_fields import EVENT_FIELDS, event_of
from streaming.limits import INFLUENCER_MAX_CHARS
from streaming.replay_order import OrderedPosts, time_ordered
from training.dataset.records import PostRecord

log = logging.getLogger(__name__)

ImageMode = Literal["uri", "b64"]

# Each way of spoiling an event, and the dead-letter reason streaming.validate gives it.
MALFORMED_KINDS: dict[str, str] = {
    "bad_json": "bad_json",
    "unsupported_schema": "unsupported_schema",
    "missing_field": "missing_field",
    "wrong_type": "wrong_type",
    "empty_influencer": "empty_influencer",
    "no_image": "no_image",
    "bad_timestamp": "bad_timestamp",
    "caption_too_long": "caption_too_long",
    "influencer_too_long": "influencer_too_long",
    "influencer_forbidden_char": "influencer_forbidden_char",
}
# The event fields a dataset record carries under the same name (all but schema and the image).
_RECORD_EVENT_FIELDS = tuple(name for name in EVENT_FIELDS if name in {f.name for f in fields(PostRecord)})
# Characters that make a name spoofable: NUL, right-to-left override, left-to-right isolate.
_SPOOFING_CHARS = ("\x00", "\u202e", "\u2066")


@functools.lru_cache(maxsize=1024)
def _real_folder(folder: Path) -> Path | None:
    """``folder`` resolved when it is a directory on disk; None inside an archive (``x.zip/image``).
    Cached: a dataset's images share a handful of folders, resolving each path costs syscalls."""
    return folder.resolve() if folder.is_dir() else None


def to_post_event(
    record: PostRecord,
    image_mode: ImageMode = "uri",
    read_image: Callable[[Path], bytes] | None = None,
) -> dict[str, Any]:
    """One post event for ``record`` with its first image as a file URI or inline base64.

    An image that lives inside a zip archive has no file URI; it is sent inline (``read_image``
    must be given then). Raises ReplayError for a post without any image.
    """
    if not record.image_paths:
        raise ReplayError(f"post {record.post_id} of {record.influencer} has no image to send")
    image = record.image_paths[0]
    values: dict[str, Any] = {"schema": SCHEMA_VERSION}
    values.update((name, getattr(record, name)) for name in _RECORD_EVENT_FIELDS)
    folder = _real_folder(image.parent) if image_mode == "uri" else None
    if folder is not None:
        values["image_uri"] = (folder / image.name).as_uri()
    else:
        data = read_image(image) if read_image is not None else image.read_bytes()
        values["image_b64"] = base64.b64encode(data).decode("ascii")
    return event_of(values)


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def malformed_event(event: dict[str, Any], kind: str, rng: random.Random, max_caption_chars: int) -> bytes:
    """``event`` spoiled in the way ``kind`` names (see MALFORMED_KINDS)."""
    spoiled = dict(event)
    if kind == "bad_json":
        raw = encode(event)
        return raw[: max(1, len(raw) // 2)]
    if kind == "unsupported_schema":
        spoiled["schema"] = SCHEMA_VERSION + 98
    elif kind == "missing_field":
        del spoiled[rng.choice(("post_id", "ts", "caption", "hashtags", "usertags"))]
    elif kind == "wrong_type":
        field_name = rng.choice(("likes", "hashtags", "sponsored"))
        spoiled[field_name] = {"likes": "many", "hashtags": "#not #a #list", "sponsored": "yes"}[field_name]
    elif kind == "empty_influencer":
        spoiled["influencer"] = ""
    elif kind == "no_image":
        spoiled.pop("image_uri", None)
        spoiled.pop("image_b64", None)
    elif kind == "bad_timestamp":
        spoiled["ts"] = rng.choice(("yesterday", "2019-13-45T99:00:00Z", "1554076800"))
    elif kind == "caption_too_long":
        spoiled["caption"] = (event["caption"] + " ") * 2 + "x" * (max_caption_chars + 1)
    elif kind == "influencer_too_long":
        spoiled["influencer"] = event["influencer"] + "_" * INFLUENCER_MAX_CHARS
    elif kind == "influencer_forbidden_char":
        name = event["influencer"]
        at = rng.randrange(len(name) + 1)
        spoiled["influencer"] = name[:at] + rng.choice(_SPOOFING_CHARS) + name[at:]
    else:
        raise ValueError(f"unknown malformed kind {kind!r}; known: {', '.join(MALFORMED_KINDS)}")
    return encode(spoiled)


def malformed_count(valid: int, share: float) -> int:
    """How many malformed events make them ``share`` of all events sent beside ``valid`` good ones."""
    if not 0.0 <= share < 1.0:
        raise ReplayError(f"--malformed-share must be within [0, 1), got {share}")
    return round(valid * share / (1.0 - share))


def interleave(valid: int, share: float, seed: int) -> Iterator[str | None]:
    """The sequence of events to send: None for the next valid post, a kind for a malformed one.

    Deterministic by seed; exactly ``malformed_count(valid, share)`` malformed events, the kinds
    taking turns so each appears in a drill of any size. Holds only the malformed slots."""
    rng = random.Random(f"replay:{seed}")
    bad = malformed_count(valid, share)
    slots = sorted(rng.sample(range(valid + bad), bad))
    kinds = list(MALFORMED_KINDS)
    rng.shuffle(kinds)
    kind_at = {slot: kinds[turn % len(kinds)] for turn, slot in enumerate(slots)}
    for position in range(valid + bad):
        yield kind_at.get(position)


@dataclass
class ReplayStats:
    topic: str
    produced: int = 0
    valid: int = 0
    malformed: Counter[str] = field(default_factory=Counter)
    skipped_no_image: int = 0
    inlined_from_archive: int = 0
    failed: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.produced / self.seconds if self.seconds > 0 else 0.0


def ordered_posts(dataset: Any, limit: int | None = None) -> list[PostRecord]:
    """Every post of the copy in global time order (ties by influencer, then post id), as a list
    (for a copy that fits in memory; ``replay`` itself keeps the order on disk past one run)."""
    return list(time_ordered(dataset.iter_posts(), limit))


def _events(
    posts: OrderedPosts,
    dataset: Any,
    stats: ReplayStats,
    image_mode: ImageMode,
    malformed_share: float,
    seed: int,
    max_caption_chars: int,
) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) pairs in send order; posts without images are counted and skipped."""
    stats.skipped_no_image = posts.count - posts.with_images
    if stats.skipped_no_image:
        log.warning("%d posts have no image on disk and are not sent", stats.skipped_no_image)
    rng = random.Random(f"replay-spoil:{seed}")
    upcoming = (p for p in posts if p.image_paths)
    pending: PostRecord | None = None
    for kind in interleave(posts.with_images, malformed_share, seed):
        if kind is None:
            record, pending = (pending or next(upcoming)), None
        else:
            record = pending = pending or next(upcoming, None) or posts.last_with_image
            assert record is not None, "a malformed event needs a post to spoil"
        inline = image_mode == "uri" and _real_folder(record.image_paths[0].parent) is None
        event = to_post_event(record, image_mode, dataset.read_image)
        key = record.influencer.encode("utf-8")
        if kind is None:
            stats.valid += 1
            stats.inlined_from_archive += inline
            yield key, encode(event)
        else:
            stats.malformed[kind] += 1
            yield (
                (b"" if kind == "empty_influencer" else key),
                malformed_event(event, kind, rng, max_caption_chars),
            )


def check_reachable(kafka: KafkaSettings, timeout_s: float = 2.0) -> None:
    """Fail fast, with what to do, when nothing listens at any bootstrap address."""
    from streaming.infra.kafka_admin import port_open

    addresses = [a.strip() for a in kafka.bootstrap_servers.split(",") if a.strip()]
    for address in addresses:
        host, _, port = address.rpartition(":")
        if port.isdigit() and port_open(host.strip("[]"), int(port), timeout_s):
            return
    raise BrokerError(
        f"cannot reach Kafka at {kafka.bootstrap_servers}: nothing listens there; start a broker with "
        "`scout kafka start` or point kafka.bootstrap_servers at a running one"
    )


def _producer(kafka: KafkaSettings) -> Any:
    from streaming.infra.kafka_admin import kafka_producer

    return kafka_producer(
        kafka.bootstrap_servers,
        kafka.client_properties,
        linger_ms=20,
        batch_bytes=256 * 1024,
        max_block_ms=15_000,
    )


def replay(
    dataset: Any,
    kafka: KafkaSettings,
    *,
    topic: str | None = None,
    rate: float | None = None,
    image_mode: ImageMode = "uri",
    malformed_share: float = 0.0,
    seed: int = 0,
    limit: int | None = None,
    max_caption_chars: int = 5000,
    progress: bool = True,
) -> ReplayStats:
    """Send the posts of an open dataset (training.dataset.reader) to ``topic`` (default: posts).

    ``rate``: events per second (None: as fast as possible). Raises BrokerError if the broker
    cannot be reached or does not acknowledge every event."""
    from kafka.errors import KafkaError
    from tqdm import tqdm

    from streaming.infra.kafka_admin import TopicSpec, ensure_topics

    if rate is not None and rate <= 0:
        raise ReplayError(f"--rate must be positive, got {rate}")
    if image_mode not in ("uri", "b64"):
        raise ReplayError(f"image mode must be uri or b64, got {image_mode!r}")
    topic = topic or kafka.topics.posts
    malformed_count(0, malformed_share)  # checks the share before anything is read
    check_reachable(kafka)
    ensure_topics(
        kafka.bootstrap_servers, [TopicSpec(topic, kafka.posts_partitions)], kafka.client_properties
    )
    posts = time_ordered(dataset.iter_posts(), limit)  # bounded memory: spilled runs past RUN_SIZE
    stats = ReplayStats(topic)
    producer = _producer(kafka)

    def failed(exc: BaseException) -> None:
        stats.failed += 1
        log.error("an event was not delivered to %s: %s", topic, exc)

    total = posts.with_images + malformed_count(posts.with_images, malformed_share)
    started = time.monotonic()
    try:
        with tqdm(total=total, unit="event", desc=f"replay -> {topic}", disable=not progress) as bar:
            events = _events(posts, dataset, stats, image_mode, malformed_share, seed, max_caption_chars)
            for key, value in events:
                if rate is not None:
                    ahead = started + stats.produced / rate - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
                producer.send(topic, key=key, value=value).add_errback(failed)
                stats.produced += 1
                bar.update(1)
            producer.flush()
    except KafkaError as exc:
        raise BrokerError(
            f"producing to {topic!r} at {kafka.bootstrap_servers} failed after {stats.produced} events: {exc}"
        ) from exc
    finally:
        stats.seconds = time.monotonic() - started
        producer.close(timeout=10)
        posts.close()
    if stats.inlined_from_archive:
        log.warning(
            "%d images live inside archives and were sent inline (base64), not as file URIs",
            stats.inlined_from_archive,
        )
    if stats.failed:
        raise BrokerError(f"{stats.failed} of {stats.produced} events were not acknowledged by {topic!r}")
    log.info(
        "replayed %d events (%d valid, %d malformed) to %s in %.1f s (%.0f events/s)",
        stats.produced,
        stats.valid,
        sum(stats.malformed.values()),
        topic,
        stats.seconds,
        stats.rate,
    )
    return stats
