"""Fixtures of the service tests: a store filled with schema-valid profile events, settings without
Kafka, a client over them, and a tiny real model folder (compact CNN + the local MiniLM text encoder).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streaming.config import ScoutSettings, load_settings
from streaming.service.store import ProfileStore, profile_from_event
from tests.streaming.service.profiles import LABELS, cluster_events, new_store, png_bytes


@pytest.fixture
def image_root(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    root.mkdir()
    (root / "post.png").write_bytes(png_bytes())
    return root


@pytest.fixture
def api_settings(image_root: Path) -> ScoutSettings:
    return load_settings(
        None,
        {
            "service.materialise": False,
            "service.load_model": False,
            "service.max_k": 5,
            "service.page_size_max": 6,
            "job.image_roots": [str(image_root)],
        },
        environ={},
    )


@pytest.fixture
def filled_store(image_root: Path) -> ProfileStore:
    store = new_store()
    for event in cluster_events(image_uri=f"file://{image_root / 'post.png'}"):
        store.put(profile_from_event(event))
    return store


@pytest.fixture
def client(api_settings: ScoutSettings, filled_store: ProfileStore) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from streaming.service.app import create_app

    with TestClient(create_app(api_settings, store=filled_store)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real model folder: untrained compact CNN (16 dims) + MiniLM text (384), hidden 16."""
    import torch

    from training.encoders.compact_cnn import CompactCNN, CompactCNNConfig
    from training.encoders.image import ImageEncoderConfig
    from training.encoders.text import TextEncoderConfig
    from training.model_dir import ModelParts, save_model
    from training.profiler import PostAttentiveProfiler, ProfilerConfig

    torch.manual_seed(0)
    cnn = CompactCNN(CompactCNNConfig(image_size=32, width=8, feature_dim=16, num_classes=len(LABELS)))
    profiler = PostAttentiveProfiler(
        ProfilerConfig(
            feature_dim=16 + 384,
            num_classes=len(LABELS),
            hidden_dim=16,
            attention_dim=8,
            head_hidden_dim=16,
        )
    )
    folder = tmp_path_factory.mktemp("tiny-model")
    save_model(
        folder,
        ModelParts(
            profiler=profiler,
            labels=LABELS,
            modalities=("image", "text"),
            window=8,
            text=TextEncoderConfig(),
            text_dim=384,
            image=ImageEncoderConfig(backbone="compact_cnn"),
            image_dim=16,
            image_state=cnn.state_dict(),
        ),
    )
    return folder


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path) -> Any:
    from training.model_dir import load_model

    return load_model(tiny_model_dir, device="cpu")


@pytest.fixture(scope="session")
def world_profiles(tiny_model: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A generated world of 90 influencers, the tiny model's encoders and a profiler fitted to the
    world, profiled in-process (world_profiles.py)."""
    from tests.streaming.service.world_profiles import build_world_profiles

    return build_world_profiles(
        tmp_path_factory.mktemp("world") / "w", tiny_model, tmp_path_factory.mktemp("state")
    )


@pytest.fixture
def world_client(api_settings: ScoutSettings, world_profiles: Any) -> Iterator[Any]:
    """A client over the world's profiles and followers, with the world's model for search."""
    from fastapi.testclient import TestClient

    from streaming.service.app import create_app

    store = new_store()
    for event in world_profiles.events:
        store.put(profile_from_event(event))
    for name, count in world_profiles.followers.items():
        store.set_followers(name, count)
    settings = api_settings.model_copy(
        update={"service": api_settings.service.model_copy(update={"max_k": 50, "page_size_max": 200})}
    )
    with TestClient(create_app(settings, model=world_profiles.model, store=store)) as test_client:
        yield test_client
