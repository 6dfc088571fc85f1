"""Fixtures of the service tests: profile events valid against the profile schema, a filled store,
settings without Kafka, and a tiny real model folder (compact CNN + the local MiniLM text encoder).

The synthetic influencers form three clusters by category: the embedding of ``<category>_<i>`` is
its category's direction plus a little noise, so each one's nearest neighbours share its category.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from jsonschema import Draft202012Validator
from PIL import Image

from streaming.config import ScoutSettings, load_settings
from streaming.events import load_schema
from streaming.service.store import ProfileStore, profile_from_event

CATEGORIES = ("beauty", "food", "travel")
LABELS = ("beauty", "family", "fashion", "fitness", "food", "interior", "other", "pet", "travel")
DIM = 8
PER_CATEGORY = 4
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def png_bytes(colour: tuple[int, int, int] = (200, 30, 60), size: int = 24) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def profile_event(
    influencer: str,
    category: str,
    embedding: np.ndarray,
    *,
    confidence: float = 0.8,
    post_count: int = 10,
    model_version: str = "v-test",
    top_posts: list[dict[str, Any]] | None = None,
    batch_id: int = 0,
    processing_time: datetime = T0,
) -> dict[str, Any]:
    """A profile event as the job writes it; asserted valid against profile.schema.json."""
    others = [label for label in LABELS if label != category]
    rest = (1.0 - confidence) / len(others)
    event = {
        "schema": 1,
        "influencer": influencer,
        "category": category,
        "probabilities": {category: confidence, **dict.fromkeys(others, rest)},
        "embedding": [float(x) for x in embedding],
        "post_count": post_count,
        "top_posts": top_posts if top_posts is not None else [
            {"post_id": f"{influencer}-p1", "score": 2.0, "weight": 0.6, "caption": f"{category} day",
             "image_uri": None, "ts": iso(processing_time - timedelta(hours=1))},
        ],
        "model_version": model_version,
        "event_time": iso(processing_time - timedelta(minutes=5)),
        "processing_time": iso(processing_time),
        "batch_id": batch_id,
    }
    errors = list(Draft202012Validator(load_schema("profile")).iter_errors(event))
    assert not errors, f"fixture event violates the profile schema: {errors[0].message}"
    return event


def cluster_events(image_uri: str | None = None) -> list[dict[str, Any]]:
    """PER_CATEGORY influencers per category, embeddings clustered by category."""
    rng = np.random.default_rng(7)
    events = []
    for c, category in enumerate(CATEGORIES):
        direction = np.zeros(DIM)
        direction[c] = 1.0
        for i in range(PER_CATEGORY):
            name = f"{category}_{i}"
            posts = [
                {"post_id": f"{name}-p{j}", "score": 3.0 - j, "weight": round(0.5 / (j + 1), 3),
                 "caption": f"{category} post {j} of {name}", "image_uri": image_uri,
                 "ts": iso(T0 - timedelta(days=j))}
                for j in range(3)
            ]
            events.append(profile_event(
                name, category, direction + 0.05 * rng.standard_normal(DIM),
                confidence=0.5 + 0.1 * i, post_count=5 + 3 * i + c, top_posts=posts,
                processing_time=T0 + timedelta(minutes=c * PER_CATEGORY + i),
            ))
    return events


def new_store() -> ProfileStore:
    from streaming.similarity.index import SimilarityIndex

    return ProfileStore(lambda dim: SimilarityIndex(dim))


@pytest.fixture
def image_root(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    root.mkdir()
    (root / "post.png").write_bytes(png_bytes())
    return root


@pytest.fixture
def api_settings(image_root: Path) -> ScoutSettings:
    return load_settings(None, {
        "service.materialise": False,
        "service.load_model": False,
        "service.max_k": 5,
        "service.page_size_max": 6,
        "job.image_roots": [str(image_root)],
    }, environ={})


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
    profiler = PostAttentiveProfiler(ProfilerConfig(
        feature_dim=16 + 384, num_classes=len(LABELS), hidden_dim=16, attention_dim=8, head_hidden_dim=16,
    ))
    folder = tmp_path_factory.mktemp("tiny-model")
    save_model(folder, ModelParts(
        profiler=profiler, labels=LABELS, modalities=("image", "text"), window=8,
        text=TextEncoderConfig(), text_dim=384,
        image=ImageEncoderConfig(backbone="compact_cnn"), image_dim=16, image_state=cnn.state_dict(),
    ))
    return folder


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path) -> Any:
    from training.model_dir import load_model

    return load_model(tiny_model_dir, device="cpu")

