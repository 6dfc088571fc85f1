"""Followers on their own compacted topic (`influencer-followers`, key = influencer).

Post events carry likes and comments but not the account's follower count; the dataset lists it in
``influencers.txt`` (the synthetic world writes it there too). ``scout replay`` publishes one
followers event per listed influencer before the posts (``--no-followers`` skips it); the latest
event of a key wins, so publishing again only updates the counts. The service joins them with the
profiles (streaming.service.filters): the engagement rate then follows a new count at once, and the
job stays a function of the posts alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from streaming.config import KafkaSettings
from streaming.events import SCHEMA_VERSION
from streaming.limits import INFLUENCER_MAX_CHARS
from streaming.validate import forbidden_char

log = logging.getLogger(__name__)


def followers_events(influencers: Iterable[Any]) -> tuple[list[dict[str, Any]], int]:
    """influencers.txt records (username, followers) -> (followers events, rows skipped: a name the
    job would refuse, or a count below 0)."""
    events, skipped = [], 0
    for record in influencers:
        name, followers = record.username, record.followers
        usable = 0 < len(name) <= INFLUENCER_MAX_CHARS and forbidden_char(name) is None
        if not usable or followers is None or followers < 0:
            skipped += 1
            continue
        events.append({"schema": SCHEMA_VERSION, "influencer": name, "followers": int(followers)})
    return events, skipped


def publish_followers(dataset: Any, kafka: KafkaSettings) -> int:
    """Send the dataset's follower counts to kafka.topics.followers; returns how many were sent."""
    import json

    from streaming.infra.kafka_admin import kafka_producer

    events, skipped = followers_events(dataset.influencers())
    if skipped:
        log.warning("%d rows of influencers.txt lack a usable name or follower count; not sent", skipped)
    producer = kafka_producer(kafka.bootstrap_servers, kafka.client_properties, linger_ms=20)
    try:
        for event in events:
            key, value = event["influencer"].encode(), json.dumps(event).encode()
            producer.send(kafka.topics.followers, key=key, value=value)
        producer.flush()
    finally:
        producer.close()
    log.info("published %d follower counts to %s", len(events), kafka.topics.followers)
    return len(events)
