"""Fixtures of the streaming job tests: a tiny synthetic world, its post events, a small model
folder, and helpers to feed `posts` and read the output topics.

The model here is untrained (seeded random weights, a tiny compact CNN and the packaged MiniLM): the
job's contracts (exact incremental pooling, restarts, dead letters, a cluster) hold for any model.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from streaming.config import ScoutSettings


@dataclass(frozen=True)
class World:
    root: Path
    events: list[tuple[bytes, bytes]]  # (key, value) in replay order (global time order)
    posts: dict[str, list[dict[str, Any]]]  # influencer -> its post events in time order
    meta: Any  # training.synth.meta.WorldMeta


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    from streaming.replay import encode, ordered_posts, to_post_event
    from training.dataset.reader import open_dataset
    from training.synth.knobs import WorldKnobs
    from training.synth.meta import load_world_meta
    from training.synth.writer import generate_world

    root = tmp_path_factory.mktemp("world") / "tiny"
    knobs = WorldKnobs(
        influencers=9, posts=14, seed=5, image_size=32, drift_share=0.0, split=(0.34, 0.33, 0.33)
    )
    generate_world(root, knobs, progress=False)
    dataset = open_dataset(root)
    events: list[tuple[bytes, bytes]] = []
    posts: dict[str, list[dict[str, Any]]] = {}
    for record in ordered_posts(dataset):
        if not record.image_paths:
            continue
        event = to_post_event(record, "uri", dataset.read_image)
        events.append((record.influencer.encode(), encode(event)))
        posts.setdefault(record.influencer, []).append(event)
    return World(root, events, posts, load_world_meta(root))


def build_random_model(out: Path, seed: int = 0, hidden_dim: int = 32) -> str:
    """An untrained but complete model folder (compact CNN + MiniLM + profiler); returns its version."""
    import torch

    from training.dataset.categories import CATEGORIES
    from training.encoders.compact_cnn import CompactCNN, CompactCNNConfig
    from training.encoders.image import ImageEncoderConfig
    from training.encoders.text import TextEncoderConfig
    from training.model_dir import ModelParts, save_model
    from training.profiler import PostAttentiveProfiler, ProfilerConfig

    torch.manual_seed(seed)
    cnn = CompactCNN(CompactCNNConfig(image_size=32, width=8, feature_dim=16, num_classes=len(CATEGORIES)))
    profiler = PostAttentiveProfiler(
        ProfilerConfig(
            feature_dim=16 + 384,
            num_classes=len(CATEGORIES),
            hidden_dim=hidden_dim,
            attention_dim=16,
            head_hidden_dim=16,
        )
    )
    with torch.no_grad():  # spread the attention scores so that pooling is far from a plain mean
        for p in profiler.parameters():
            p.mul_(3.0)
    parts = ModelParts(
        profiler=profiler.eval(),
        labels=CATEGORIES,
        modalities=("image", "text"),
        window=16,
        text=TextEncoderConfig(batch_size=16),
        text_dim=384,
        image=ImageEncoderConfig(batch_size=16),
        image_dim=16,
        image_state=cnn.state_dict(),
    )
    return save_model(out, parts)


@pytest.fixture(scope="session")
def random_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model") / "random"
    build_random_model(folder)
    return folder


def topic_settings(
    running: Any, checkpoint: Path, model: Path, world: World, **overrides: Any
) -> ScoutSettings:
    """Settings on the session broker with topics of their own (created), for session fixtures."""
    import uuid

    from streaming.config import TopicNames, load_settings
    from streaming.infra import kafka_admin
    from tests.conftest import base_overrides

    prefix = f"job-{uuid.uuid4().hex[:8]}"
    values: dict[str, Any] = {
        **base_overrides(),
        **{
            f"broker.{k}": str(v) if isinstance(v, Path) else v
            for k, v in running.settings.broker.model_dump().items()
        },
        "kafka.bootstrap_servers": running.bootstrap_servers,
        **{f"kafka.topics.{k}": f"{prefix}.{v}" for k, v in TopicNames().model_dump().items()},
        "kafka.posts_partitions": 2,
        "spark.checkpoint_dir": str(checkpoint),
        "job.model_dir": str(model),
        "job.image_roots": [str(world.root)],
        "job.embed_batch_size": 16,
        "job.metrics_port": 0,
        **overrides,
    }
    settings = load_settings(None, values, environ={})
    kafka_admin.ensure_topics(settings.kafka.bootstrap_servers, kafka_admin.topic_specs(settings.kafka))
    return settings


@pytest.fixture
def job_settings(
    scout_settings: Callable[..., ScoutSettings], random_model: Path, tiny_world: World
) -> Callable[..., ScoutSettings]:
    """``job_settings(**overrides)``: unique topics on the session broker, the random model, the
    world's images as the only allowed image root, a fresh checkpoint."""

    def make(**overrides: Any) -> ScoutSettings:
        values: dict[str, Any] = {
            "job__model_dir": str(random_model),
            "job__image_roots": [str(tiny_world.root)],
            "job__embed_batch_size": 16,
            "job__metrics_port": 0,
            "kafka__posts_partitions": 2,
            **overrides,
        }
        return scout_settings(unique=True, **values)

    return make


def produce(settings: ScoutSettings, events: list[tuple[bytes, bytes]]) -> None:
    from streaming.infra.kafka_admin import produce as send

    send(settings.kafka.bootstrap_servers, settings.kafka.topics.posts, events)


def read_json(settings: ScoutSettings, topic: str) -> list[dict[str, Any]]:
    from streaming.infra.kafka_admin import read_topic

    return [json.loads(r.value) for r in read_topic(settings.kafka.bootstrap_servers, topic, 60.0)]


def latest_by_influencer(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What a compacted topic converges to: the last event per key (events per partition in order)."""
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        previous = latest.get(event["influencer"])
        if previous is None or event["batch_id"] >= previous["batch_id"]:
            latest[event["influencer"]] = event
    return latest


def random_chunks(items: list[Any], rng: random.Random, parts: int) -> Iterator[list[Any]]:
    """``items`` cut at ``parts - 1`` random places (chunks of random sizes, in order)."""
    cuts = sorted(rng.sample(range(1, len(items)), parts - 1))
    for start, end in zip([0, *cuts], [*cuts, len(items)], strict=True):
        yield items[start:end]


def image_bytes(event: dict[str, Any]) -> bytes:
    from urllib.parse import unquote, urlsplit

    return Path(unquote(urlsplit(event["image_uri"]).path)).read_bytes()


def batch_profile(model: Any, posts: list[dict[str, Any]], tau_seconds: float | None = None) -> np.ndarray:
    """The reference: embed all of one influencer's posts at once and pool them in one softmax.
    Returns (H,) float64 embedding."""
    from datetime import datetime

    from streaming.state.online_softmax import recompute
    from training.encoders.text import post_text
    from training.interface import PostInput

    inputs = [PostInput(post_text(p["caption"], p["hashtags"], p["usertags"]), image_bytes(p)) for p in posts]
    step = model.post_step(model.encode(inputs))
    ts = np.array([datetime.fromisoformat(p["ts"]).timestamp() for p in posts])
    return recompute(step.scores, step.h, ts, tau_seconds)


@dataclass(frozen=True)
class BadEvent:
    key: bytes | None
    value: bytes | None
    reason: str  # the dead-letter reason the job must give it
    stage: str  # parse or embed


def bad_events(world: World, seed: int = 3) -> list[BadEvent]:
    """Malformed records of every kind the job must dead-letter, parse stage and embed stage."""
    import base64

    from streaming.replay import MALFORMED_KINDS, encode, malformed_event

    rng = random.Random(seed)
    influencer, posts = sorted(world.posts.items())[0]
    template = dict(posts[0])
    key = influencer.encode()
    bad = [
        BadEvent(
            b"" if kind == "empty_influencer" else key,
            malformed_event(template, kind, rng, 5000),
            reason,
            "parse",
        )
        for kind, reason in MALFORMED_KINDS.items()
    ]
    bad.append(BadEvent(key, None, "bad_json", "parse"))  # a tombstone
    bad.append(BadEvent(key, b"\xff\xfe not utf-8", "bad_json", "parse"))
    outside = {**template, "post_id": "bad-outside", "image_uri": "file:///etc/hostname"}
    bad.append(BadEvent(key, encode(outside), "image_uri_outside_roots", "parse"))
    garbage = {k: v for k, v in template.items() if k != "image_uri"}
    garbage.update(
        post_id="bad-undecodable", image_b64=base64.b64encode(b"this is not an image" * 8).decode()
    )
    bad.append(BadEvent(key, encode(garbage), "image_undecodable", "embed"))
    missing = {
        **template,
        "post_id": "bad-missing",
        "image_uri": (world.root / "image" / "gone.jpg").as_uri(),
    }
    bad.append(BadEvent(key, encode(missing), "image_unreadable", "embed"))
    return bad


def mixed(
    events: list[tuple[bytes, bytes]], bad: list[BadEvent], seed: int
) -> list[tuple[bytes | None, bytes | None]]:
    """The valid events in order with the bad ones slipped in at random places."""
    rng = random.Random(seed)
    out: list[tuple[bytes | None, bytes | None]] = list(events)
    for item in bad:
        out.insert(rng.randrange(len(out) + 1), (item.key, item.value))
    return out


@dataclass(frozen=True)
class StreamedRun:
    settings: ScoutSettings
    produced: int
    bad: list[BadEvent]
    topics: dict[str, list[dict[str, Any]]]  # output topic field name -> its events

    @property
    def profiles(self) -> dict[str, dict[str, Any]]:
        return latest_by_influencer(self.topics["profiles"])


@pytest.fixture(scope="session")
def streamed_run(kafka_broker, spark, tiny_world, random_model, tmp_path_factory) -> StreamedRun:
    """The world's posts with bad records mixed in, streamed in-process in micro-batches of random
    sizes, uninterrupted; the output topics read back. Shared by the exactness, bad-input and
    kill-drill tests (it is the uninterrupted reference run)."""
    from streaming.job.runner import StreamJob

    settings = topic_settings(
        kafka_broker, tmp_path_factory.mktemp("checkpoint") / "run", random_model, tiny_world
    )
    bad = bad_events(tiny_world)
    events = mixed(tiny_world.events, bad, seed=11)
    job = StreamJob(settings, spark)
    job.start()
    try:
        for chunk in random_chunks(events, random.Random(7), parts=4):
            produce(settings, chunk)
            job.process_all_available()
    finally:
        job.stop()
    topics = settings.kafka.topics
    names = ("dlq", "profiles", "reclassified", "similar")
    read = {name: read_json(settings, getattr(topics, name)) for name in names}
    return StreamedRun(settings, len(events), bad, read)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a TOML basic string


def write_toml(settings: ScoutSettings, path: Path) -> Path:
    """``settings`` as a TOML file that `scout --config` reads back to the same settings."""
    lines: list[str] = []

    def section(name: str, values: dict[str, Any]) -> None:
        scalars = {k: v for k, v in values.items() if not isinstance(v, dict) and v is not None}
        lines.append(f"[{name}]")
        lines.extend(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in scalars.items())
        for key, value in values.items():
            if isinstance(value, dict) and value:
                section(f"{name}.{key}", value)

    for name, values in settings.model_dump(mode="json").items():
        section(name, values)
    path.write_text("\n".join(lines) + "\n")
    return path


# Clear topics, little noise: a small trained model classifies such influencers reliably.
CLEAR_WORLD = {
    "image_size": 32,
    "on_topic_share": (0.6, 0.8),
    "generic_share": (0.05, 0.1),
    "secondary_share": (0.05, 0.1),
    "modality_overlap": 0.0,
    "text_noise": 0.05,
}


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A text-only profiler trained on a clear synthetic world of its own (no drift)."""
    from training.encoders.compact_cnn import CNNTrainConfig, CompactCNNConfig
    from training.pipeline import FeatureConfig
    from training.synth.knobs import WorldKnobs
    from training.synth.writer import generate_world
    from training.train import TrainConfig
    from training.workflow import train_model

    base = tmp_path_factory.mktemp("trained")
    generate_world(
        base / "world",
        WorldKnobs(influencers=54, posts=10, seed=2, drift_share=0.0, **CLEAR_WORLD),
        progress=False,
    )
    features = FeatureConfig(
        cnn=CompactCNNConfig(image_size=32, width=8, feature_dim=16),
        cnn_train=CNNTrainConfig(epochs=1),
        cache_dir=None,
        device="cpu",
    )
    train = TrainConfig(
        hidden_dim=32, attention_dim=16, head_hidden_dim=16, max_epochs=40, window=10, device="cpu"
    )
    _, metrics = train_model(
        base / "world", base / "model", features, train, modalities=("text",), progress=False
    )
    assert metrics["test"]["accuracy"] >= 0.8, f"the test model is too weak: {metrics['test']}"
    return base / "model"
