"""The Kafka adapter of the service: reads ``influencer-profiles``, ``influencer-followers`` and
``influencer-reclassified``.

A daemon thread with one kafka-python consumer (no consumer group: every service replica keeps the
whole view):

1. profiles are read from the beginning of the compacted topic, then live; each valid event
   replaces the influencer's profile in the store (a tombstone removes it). ``caught_up`` is set
   once the end offsets seen at start are reached;
2. follower counts are read from the beginning of their compacted topic, then live (joined with
   the profiles in the store); they are part of catching up;
3. reclassifications are read from the beginning, then live: each is a change of its influencer's
   history; the last ``feed_backlog`` records of each partition at start, and every live one, are
   also published to the feed; profile events are points of the history too;
4. every ``lag_interval_s`` the distance to the end offsets is exported as consumer lag.

Invalid records are never applied and never silently dropped: each is logged and counted by reason.
If the broker is unreachable the thread keeps retrying and resumes from the offsets it reached.
"""

from __future__ import annotations

import logging
import threading
import time

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError

from streaming.config import KafkaSettings
from streaming.errors import SimilarityIndexError
from streaming.infra.kafka_admin import client_config
from streaming.metrics.service import ServiceMetrics
from streaming.service.history import HistoryStore
from streaming.service.live import ReclassificationFeed
from streaming.service.store import (
    Profile,
    ProfileStore,
    RejectedEvent,
    decode_event,
    profile_from_event,
)

log = logging.getLogger(__name__)


class Materialiser:
    def __init__(
        self,
        kafka: KafkaSettings,
        store: ProfileStore,
        feed: ReclassificationFeed,
        metrics: ServiceMetrics,
        feed_backlog: int = 50,
        poll_timeout_s: float = 0.5,
        lag_interval_s: float = 2.0,
        connect_timeout_s: float = 5.0,
        history: HistoryStore | None = None,
    ) -> None:
        self.kafka = kafka
        self.store = store
        self.feed = feed
        self.metrics = metrics
        self.feed_backlog = feed_backlog
        self.history = history
        self._feed_from: dict[TopicPartition, int] = {}  # offsets below are history only, not the feed
        self.poll_timeout_s = poll_timeout_s
        self.lag_interval_s = lag_interval_s
        self.connect_timeout_s = connect_timeout_s  # per attempt: bounds how long stop() may wait
        self.caught_up = threading.Event()
        self.connected = False
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._positions: dict[TopicPartition, int] = {}  # next offset to read, kept across reconnects
        self._catch_up_ends: dict[TopicPartition, int] | None = None
        self._streams = {
            kafka.topics.profiles: "profiles",
            kafka.topics.followers: "followers",
            kafka.topics.reclassified: "reclassified",
        }
        self._handlers = {
            kafka.topics.profiles: self._apply_profile,
            kafka.topics.followers: self._apply_followers,
            kafka.topics.reclassified: self._apply_feed,
        }

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        assert self._thread is None, "materialiser already started"
        self._thread = threading.Thread(target=self._run, name="profile-materialiser", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            if self._thread.is_alive():
                log.warning("materialiser did not stop within %.0fs", timeout_s)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait_caught_up(self, timeout_s: float) -> bool:
        return self.caught_up.wait(timeout_s)

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                consumer = self._connect()
            except KafkaError as exc:
                self._disconnected(exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.5
            try:
                self._consume(consumer)
            except KafkaError as exc:
                self._disconnected(exc)
            finally:
                consumer.close()
        log.info("materialiser stopped")

    def _disconnected(self, exc: Exception) -> None:
        if self.connected or self.last_error is None:
            log.warning(
                "materialiser cannot read from Kafka at %s (%s); retrying", self.kafka.bootstrap_servers, exc
            )
        self.connected = False
        self.last_error = str(exc)

    # -- Kafka -------------------------------------------------------------------------------

    def _connect(self) -> KafkaConsumer:
        consumer = KafkaConsumer(
            bootstrap_servers=self.kafka.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=16 * 1024 * 1024,
            bootstrap_timeout_ms=int(self.connect_timeout_s * 1000),
            **client_config(self.kafka.client_properties, KafkaConsumer),
        )
        try:
            partitions = self._wait_for_partitions(consumer)
            if partitions is None:  # stopping
                return consumer
            consumer.assign(partitions)
            self._seek(consumer, partitions)
        except BaseException:
            consumer.close()
            raise
        self.connected = True
        self.last_error = None
        log.info("materialiser reading %s", ", ".join(sorted({tp.topic for tp in partitions})))
        return consumer

    def _wait_for_partitions(self, consumer: KafkaConsumer) -> list[TopicPartition] | None:
        warned = False
        while not self._stop.is_set():
            found = {topic: consumer.partitions_for_topic(topic) for topic in self._streams}
            if all(found.values()):
                return [TopicPartition(t, p) for t, parts in found.items() for p in sorted(parts)]
            if not warned:
                missing = [topic for topic, parts in found.items() if not parts]
                log.warning("waiting for topics %s to exist (`scout kafka start` creates them)", missing)
                warned = True
            self._stop.wait(1.0)
        return None

    def _seek(self, consumer: KafkaConsumer, partitions: list[TopicPartition]) -> None:
        compacted = (self.kafka.topics.profiles, self.kafka.topics.followers)
        profiles = [tp for tp in partitions if tp.topic in compacted]
        feed = [tp for tp in partitions if tp.topic == self.kafka.topics.reclassified]
        ends = consumer.end_offsets(partitions)
        starts = consumer.beginning_offsets(partitions)
        for tp in profiles:
            consumer.seek(tp, self._positions.get(tp, starts[tp]))
        for tp in feed:
            self._feed_from.setdefault(tp, max(starts[tp], ends[tp] - self.feed_backlog))
            consumer.seek(tp, self._positions.get(tp, starts[tp] if self.history else self._feed_from[tp]))
        if self._catch_up_ends is None:
            self._catch_up_ends = {tp: ends[tp] for tp in profiles}

    def _consume(self, consumer: KafkaConsumer) -> None:
        next_lag = 0.0
        while not self._stop.is_set():
            batches = consumer.poll(timeout_ms=int(self.poll_timeout_s * 1000))
            for tp, records in batches.items():
                handle = self._handlers[tp.topic]
                for record in records:
                    handle(record)
                    self._positions[tp] = record.offset + 1
            if not self.caught_up.is_set():
                self._check_caught_up(consumer)
            if time.monotonic() >= next_lag:
                self._export_lag(consumer)
                next_lag = time.monotonic() + self.lag_interval_s

    def _check_caught_up(self, consumer: KafkaConsumer) -> None:
        ends = self._catch_up_ends or {}
        if all(consumer.position(tp) >= end for tp, end in ends.items()):
            self.caught_up.set()
            self.metrics.caught_up.set(1)
            log.info("materialised %d profiles; now following live", len(self.store))

    def _export_lag(self, consumer: KafkaConsumer) -> None:
        assigned = list(consumer.assignment())
        ends = consumer.end_offsets(assigned)
        lag = dict.fromkeys(self._streams.values(), 0)
        for tp in assigned:
            lag[self._streams[tp.topic]] += max(0, ends[tp] - consumer.position(tp))
        for stream, value in lag.items():
            self.metrics.consumer_lag.labels(stream).set(value)

    # -- records -----------------------------------------------------------------------------

    def _rejected(self, stream: str, record: ConsumerRecord, exc: RejectedEvent) -> None:
        self.metrics.rejected_events.labels(stream, exc.reason).inc()
        log.warning(
            "%s record at %s[%d]@%d not applied: %s",
            stream,
            record.topic,
            record.partition,
            record.offset,
            exc,
        )

    def _apply_profile(self, record: ConsumerRecord) -> None:
        if record.value is None:  # tombstone: the influencer is gone
            name = record.key.decode("utf-8", errors="replace") if record.key else ""
            self.store.remove(name)
            if self.history is not None:
                self.history.forget(name)
        else:
            try:
                event = decode_event(record.value, "profile")
                self._put(profile_from_event(event))
                if self.history is not None:
                    self.history.record_profile(event)
            except RejectedEvent as exc:
                self._rejected("profiles", record, exc)
                return
        self.metrics.profile_events.inc()
        self.metrics.profiles.set(len(self.store))
        self.metrics.index_vectors.set(self.store.index_size())

    def _put(self, profile: Profile) -> None:
        try:
            self.store.put(profile)
        except SimilarityIndexError as exc:
            raise RejectedEvent("embedding", str(exc)) from exc

    def _apply_followers(self, record: ConsumerRecord) -> None:
        name = record.key.decode("utf-8", errors="replace") if record.key else ""
        if record.value is None:  # tombstone: no longer known
            self.store.set_followers(name, None)
            return
        try:
            event = decode_event(record.value, "followers")
        except RejectedEvent as exc:
            self._rejected("followers", record, exc)
            return
        self.store.set_followers(event["influencer"], int(event["followers"]))

    def _apply_feed(self, record: ConsumerRecord) -> None:
        try:
            if record.value is None:
                raise RejectedEvent("bad_json", "the record has no value")
            event = decode_event(record.value, "reclassified")
        except RejectedEvent as exc:
            self._rejected("reclassified", record, exc)
            return
        if self.history is not None:
            self.history.record_change(event)
        if record.offset < self._feed_from.get(TopicPartition(record.topic, record.partition), 0):
            return  # older than the backlog: history only
        self.metrics.reclassifications.inc()
        self.feed.publish(event)
