"""Model-side fixtures, built once per session: a tiny synthetic world, its features, a tiny
untrained model (for save/load round trips) and a tiny trained model folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from training.encoders.compact_cnn import CNNTrainConfig, CompactCNN, CompactCNNConfig
from training.encoders.image import ImageEncoderConfig
from training.encoders.text import TextEncoderConfig
from training.model_dir import ModelParts
from training.pipeline import FeatureConfig, Prepared, prepare
from training.profiler import PostAttentiveProfiler, ProfilerConfig
from training.synth import WorldKnobs
from training.synth.writer import generate_world
from training.train import TrainConfig

TINY_CNN = CompactCNNConfig(image_size=32, width=8, feature_dim=32)
TEXT_DIM = 384  # all-MiniLM-L6-v2


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """36 influencers (4 per category) x 10 posts, 32 px images."""
    out = tmp_path_factory.mktemp("tiny") / "world"
    generate_world(out, WorldKnobs(influencers=36, posts=10, seed=3, image_size=32), progress=False)
    return out


@pytest.fixture(scope="session")
def feature_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("feature-cache")


@pytest.fixture(scope="session")
def tiny_feature_config(feature_cache: Path) -> FeatureConfig:
    return FeatureConfig(
        cnn=TINY_CNN,
        cnn_train=CNNTrainConfig(epochs=3, batch_size=64),
        cache_dir=str(feature_cache),
        device="cpu",
    )


@pytest.fixture(scope="session")
def tiny_train_config() -> TrainConfig:
    return TrainConfig(
        window=8,
        hidden_dim=32,
        attention_dim=16,
        head_hidden_dim=16,
        max_epochs=40,
        patience=8,
        lr=2e-3,
        device="cpu",
    )  # a tiny world learns in a few epochs at the larger rate


@pytest.fixture(scope="session")
def tiny_prepared(tiny_world: Path, tiny_feature_config: FeatureConfig) -> Prepared:
    return prepare(tiny_world, tiny_feature_config, progress=False)


@pytest.fixture(scope="session")
def tiny_parts() -> ModelParts:
    """An untrained multimodal model: random compact CNN and profiler, seeded."""
    torch.manual_seed(0)
    cnn = CompactCNN(TINY_CNN).eval()
    profiler = PostAttentiveProfiler(
        ProfilerConfig(
            feature_dim=TINY_CNN.feature_dim + TEXT_DIM, num_classes=9, hidden_dim=24, attention_dim=8
        )
    )
    gen = torch.Generator().manual_seed(1)
    profiler.set_feature_stats(
        torch.randn(profiler.config.feature_dim, generator=gen) * 0.1,
        torch.rand(profiler.config.feature_dim, generator=gen) + 0.5,
    )
    return ModelParts(
        profiler=profiler.eval(),
        labels=("beauty", "family", "fashion", "fitness", "food", "interior", "pet", "travel", "other"),
        modalities=("image", "text"),
        window=8,
        text=TextEncoderConfig(),
        text_dim=TEXT_DIM,
        image=ImageEncoderConfig(),
        image_dim=TINY_CNN.feature_dim,
        image_state={k: v.clone() for k, v in cnn.state_dict().items()},
    )


@pytest.fixture(scope="session")
def tiny_model_dir(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_world: Path,
    tiny_prepared: Prepared,
    tiny_feature_config: FeatureConfig,
    tiny_train_config: TrainConfig,
) -> Path:
    """A model folder trained on the tiny world (features come from the shared cache)."""
    from training.workflow import train_model

    out = tmp_path_factory.mktemp("model") / "tiny"
    train_model(tiny_world, out, tiny_feature_config, tiny_train_config, progress=False)
    return out
