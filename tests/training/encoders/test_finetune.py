"""Fine-tuning the last blocks of the packaged MobileNetV2: the tuned tower trains from the cached
trunk, a model folder stores only its tuned blocks (the trunk still comes from the packaged file,
by hash), loading it rebuilds the same network, and the flag refuses what it cannot tune."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from streaming.cli import app
from training.dataset.reader import open_dataset
from training.encoders.finetune import FinetuneTrainConfig
from training.encoders.image import ImageEncoder, ImageEncoderConfig, pretrained_state
from training.encoders.towers import ImageTower
from training.errors import ModelFormatError, ModelNotFoundError
from training.model_dir import ModelParts, load_model, save_model
from training.pipeline import FeatureConfig, Prepared, prepare
from training.profiler import PostAttentiveProfiler, ProfilerConfig
from training.synth import WorldKnobs
from training.synth.writer import generate_world

TUNED = ImageEncoderConfig("mobilenet_v2", finetune_blocks=2)  # features[17] and features[18]


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 influencers x 4 posts: 48 images, few enough for MobileNetV2 at 224 px on a CPU."""
    out = tmp_path_factory.mktemp("finetune") / "world"
    generate_world(out, WorldKnobs(influencers=12, posts=4, seed=11, image_size=32), progress=False)
    return out


@pytest.fixture(scope="module")
def tuned_config(tmp_path_factory: pytest.TempPathFactory) -> FeatureConfig:
    cache = tmp_path_factory.mktemp("finetune-cache")
    return FeatureConfig(
        image=TUNED,
        finetune=FinetuneTrainConfig(epochs=1, batch_size=16, lr=1e-3),
        cache_dir=str(cache),
        device="cpu",
    )


@pytest.fixture(scope="module")
def tuned(small_world: Path, tuned_config: FeatureConfig) -> Prepared:
    return prepare(small_world, tuned_config, progress=False)


@pytest.fixture(scope="module")
def packaged() -> dict[str, torch.Tensor]:
    return pretrained_state(ImageEncoderConfig("mobilenet_v2"))[0]


def test_only_the_last_blocks_are_tuned(tuned: Prepared, packaged: dict[str, torch.Tensor]) -> None:
    state = tuned.image_state
    assert state and all(k.startswith(("features.17.", "features.18.")) for k in state)
    assert {k for k in packaged if k.startswith(("features.17.", "features.18."))} == set(state)
    assert len(tuned.cnn_losses) == 1 and np.isfinite(tuned.cnn_losses[0])
    moved = [k for k, v in state.items() if v.is_floating_point() and not torch.equal(v, packaged[k])]
    assert any(k.endswith(".weight") for k in moved), "training changed none of the tuned weights"
    assert tuned.image.weights_sha256 is not None and tuned.image.finetune_blocks == 2
    image = tuned.blocks["image"]
    assert image.shape == (len(tuned.table), 1280) and np.abs(image).sum(axis=1).min() > 0


def test_full_network_gives_the_features_of_the_cached_trunk(
    small_world: Path, tuned: Prepared, tuned_config: FeatureConfig
) -> None:
    """Training computed the features from the cached trunk output; a fresh run of the whole
    tuned network over the images (no cache, the stored blocks given) gives the same."""
    again = prepare(small_world, replace(tuned_config, cache_dir=None), image_state=tuned.image_state)
    np.testing.assert_allclose(again.blocks["image"], tuned.blocks["image"], rtol=1e-4, atol=1e-5)
    cached = prepare(small_world, tuned_config, progress=False)  # every stage from the cache
    assert cached.cnn_losses == [] and cached.image_state.keys() == tuned.image_state.keys()
    assert all(torch.equal(cached.image_state[k], v) for k, v in tuned.image_state.items())


def test_model_folder_round_trip(
    small_world: Path, tuned: Prepared, packaged: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    dim = tuned.blocks["image"].shape[1]
    parts = ModelParts(
        profiler=PostAttentiveProfiler(
            ProfilerConfig(
                feature_dim=dim, num_classes=len(tuned.bags.categories), hidden_dim=8, attention_dim=4
            )
        ),
        labels=tuned.bags.categories,
        modalities=("image",),
        window=4,
        image=tuned.image,
        image_dim=dim,
        image_state=tuned.image_state,
    )
    save_model(tmp_path, parts)
    record = json.loads((tmp_path / "image_encoder.json").read_text())["config"]
    assert record["backbone"] == "mobilenet_v2" and record["finetune_blocks"] == 2
    assert record["weights_sha256"] == tuned.image.weights_sha256
    _, encoder = load_model(tmp_path, device="cpu").encoders()
    assert encoder is not None
    loaded = encoder.backbone.state_dict()
    for name, value in packaged.items():
        if name.startswith("features.") and not name.startswith(("features.17.", "features.18.")):
            assert torch.equal(loaded[name], value), f"trunk weight {name} changed"
    rows = np.flatnonzero(tuned.table.images != "")[:6]
    with open_dataset(small_world) as ds:
        images = [ds.read_image(p) for p in tuned.table.images[rows]]
    np.testing.assert_allclose(encoder.encode(images), tuned.blocks["image"][rows], rtol=1e-4, atol=1e-5)
    tower = ImageTower.from_encoder(encoder)  # the GPU embed path drives the same module
    assert tower.module is encoder.backbone and tower.dim == 1280


def test_tuned_blocks_are_required_and_must_fit(tuned: Prepared) -> None:
    with pytest.raises(ModelNotFoundError, match="image_encoder.safetensors"):
        ImageEncoder(TUNED, device="cpu")
    partial = {k: v for k, v in tuned.image_state.items() if k.startswith("features.18.")}
    with pytest.raises(ModelFormatError, match="last 2 modules"):
        ImageEncoder(TUNED, device="cpu", state_dict=partial)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--image-finetune-blocks", "2"], "not auto"),
        (["--image-backbone", "compact_cnn", "--image-finetune-blocks", "2"], "not compact_cnn"),
        (["--image-backbone", "resnet18", "--image-finetune-blocks", "1"], "not resnet18"),
        (["--image-backbone", "mobilenet_v2", "--image-finetune-blocks", "19"], "between 1 and 18"),
        (["--image-backbone", "mobilenet_v2", "--image-finetune-blocks", "-1"], "between 1 and 18"),
    ],
)
def test_flag_is_validated(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["train", str(tmp_path), "--out", str(tmp_path / "m"), *args])
    text = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())  # the error box, unwrapped
    assert result.exit_code == 2 and "--image-finetune-blocks" in text and message in text, result.output
