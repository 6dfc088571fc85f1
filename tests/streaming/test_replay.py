"""Replay: events that honour the post event contract, malformed ones the validator rejects for the
intended reason, and (integration) a small world into the real broker, complete and in order."""

from __future__ import annotations

import base64
import random
import socket
from collections import Counter, defaultdict

import pytest
from typer.testing import CliRunner

from streaming.config import load_settings
from streaming.errors import BrokerError, EventValidationError, ReplayError
from streaming.replay import (
    MALFORMED_KINDS,
    encode,
    interleave,
    malformed_count,
    malformed_event,
    replay,
    to_post_event,
)
from streaming.validate import ValidationLimits, validate_event
from training.dataset.reader import open_dataset
from training.synth import WorldKnobs
from training.synth.writer import WorldSummary, generate_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> WorldSummary:
    knobs = WorldKnobs(influencers=10, posts=20, seed=2, image_size=16)
    return generate_world(tmp_path_factory.mktemp("replay") / "world", knobs, progress=False)


def _limits(world: WorldSummary) -> ValidationLimits:
    return ValidationLimits(image_roots=(str((world.out / "image").resolve()),))


def test_events_honour_the_contract(world: WorldSummary) -> None:
    with open_dataset(world.out) as ds:
        post = next(p for p in ds.iter_posts() if p.hashtags and p.usertags)
        uri = to_post_event(post, "uri", ds.read_image)
        inline = to_post_event(post, "b64", ds.read_image)
    assert uri["image_uri"] == post.image_paths[0].resolve().as_uri() and "image_b64" not in uri
    assert (
        base64.b64decode(inline["image_b64"]) == post.image_paths[0].read_bytes()
        and "image_uri" not in inline
    )
    assert uri["ts"].endswith("Z") and uri["schema"] == 1
    for event in (uri, inline):
        valid = validate_event(encode(event), _limits(world))
        assert (valid.post_id, valid.influencer, valid.ts) == (post.post_id, post.influencer, post.ts)
        assert (valid.caption, valid.hashtags, valid.usertags) == (post.caption, post.hashtags, post.usertags)
        assert (valid.likes, valid.comments, valid.sponsored) == (post.likes, post.comments, post.sponsored)
    with pytest.raises(ReplayError, match="no image"):
        to_post_event(type(post)(**{**{f: getattr(post, f) for f in post.__slots__}, "image_paths": ()}))


def test_each_malformed_kind_is_rejected_for_its_reason(world: WorldSummary) -> None:
    with open_dataset(world.out) as ds:
        event = to_post_event(next(ds.iter_posts()), "uri")
    rng = random.Random(0)
    for kind, reason in MALFORMED_KINDS.items():
        for _ in range(3):  # kinds that pick a field at random, several times
            with pytest.raises(EventValidationError) as caught:
                validate_event(malformed_event(event, kind, rng, max_caption_chars=5000), _limits(world))
            assert caught.value.reason == reason, kind


def test_interleave_exact_share_deterministic() -> None:
    sequence = list(interleave(300, 0.1, seed=4))
    assert sequence == list(interleave(300, 0.1, seed=4)) != list(interleave(300, 0.1, seed=5))
    bad = [kind for kind in sequence if kind is not None]
    assert sequence.count(None) == 300 and len(bad) == malformed_count(300, 0.1) == 33
    assert set(bad) == set(MALFORMED_KINDS)
    assert list(interleave(50, 0.0, seed=1)) == [None] * 50
    with pytest.raises(ReplayError):
        malformed_count(10, 1.0)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_broker_fails_fast_and_cli_exits_non_zero(world: WorldSummary) -> None:
    from streaming.cli import app

    address = f"127.0.0.1:{_closed_port()}"
    settings = load_settings(None, {"kafka.bootstrap_servers": address}, environ={})
    with open_dataset(world.out) as ds, pytest.raises(BrokerError, match="cannot reach Kafka"):
        replay(ds, settings.kafka, progress=False)
    result = CliRunner().invoke(
        app, ["--set", f"kafka.bootstrap_servers={address}", "replay", str(world.out)]
    )
    assert result.exit_code == 1 and "cannot reach Kafka" in result.output


@pytest.mark.integration
def test_replay_into_the_broker(world: WorldSummary, scout_settings) -> None:
    from streaming.infra.kafka_admin import read_topic

    settings = scout_settings(unique=True)
    topic = settings.kafka.topics.posts
    with open_dataset(world.out) as ds:
        expected = {name: [p.post_id for p in ds.posts_of(name)] for name in ds.usernames()}
        stats = replay(ds, settings.kafka, malformed_share=0.1, seed=3, progress=False)
    records = read_topic(settings.kafka.bootstrap_servers, topic, timeout_s=60)
    assert len(records) == stats.produced == 200 + malformed_count(200, 0.1)
    assert stats.valid == 200 and sum(stats.malformed.values()) == malformed_count(200, 0.1)

    limits = _limits(world)
    seen: dict[str, list[str]] = defaultdict(list)
    partition_of: dict[str, set[int]] = defaultdict(set)
    reasons: Counter[str] = Counter()
    for record in records:
        try:
            post = validate_event(record.value, limits)
        except EventValidationError as exc:
            reasons[exc.reason] += 1
            continue
        assert record.key == post.influencer.encode()
        seen[post.influencer].append(post.post_id)
        partition_of[post.influencer].add(record.partition)
    assert dict(seen) == expected  # every post once, each influencer's in time order
    assert all(len(parts) == 1 for parts in partition_of.values())
    assert reasons == Counter({MALFORMED_KINDS[k]: n for k, n in stats.malformed.items()})
