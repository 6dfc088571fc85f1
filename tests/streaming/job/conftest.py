"""Fixtures of the streaming job tests: a tiny synthetic world and its post events, an untrained
and a small trained model folder, settings with topics of their own, and one uninterrupted streamed
run shared by the exactness, bad-input, kill-drill and cluster tests (helpers.py holds the rest).

The untrained model (seeded random weights, a tiny compact CNN and the packaged MiniLM) serves every
contract that holds for any model: exact incremental pooling, restarts, dead letters, a cluster.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from streaming.config import ScoutSettings
from tests.streaming.job.helpers import (
    CLEAR_WORLD,
    StreamedRun,
    World,
    bad_events,
    build_random_model,
    mixed,
    produce,
    random_chunks,
    read_json,
    topic_settings,
)


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


@pytest.fixture(scope="session")
def random_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model") / "random"
    build_random_model(folder)
    return folder


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
    names = ("dlq", "profiles", "reclassified", "similar", "undisclosed")
    read = {name: read_json(settings, getattr(topics, name)) for name in names}
    return StreamedRun(settings, len(events), bad, read)


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
        hidden_dim=32,
        attention_dim=16,
        head_hidden_dim=16,
        max_epochs=40,
        window=10,
        lr=2e-3,
        patience=8,
        device="cpu",
    )
    _, metrics = train_model(
        base / "world", base / "model", features, train, modalities=("text",), progress=False
    )
    assert metrics["test"]["accuracy"] >= 0.8, f"the test model is too weak: {metrics['test']}"
    return base / "model"
