"""The model folder: save -> load gives the same outputs; the inference API the streaming job uses."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from training.encoders.image import ImageEncoder, ImageEncoderConfig
from training.encoders.text import TextEncoder
from training.errors import ModelFormatError, ModelNotFoundError
from training.interface import PostInput, softmax_pool
from training.model_dir import ModelParts, ScoutModel, load_model, save_model


def _jpeg(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory, tiny_parts: ModelParts) -> tuple[Path, str, ScoutModel]:
    folder = tmp_path_factory.mktemp("saved") / "model"
    version = save_model(
        folder, tiny_parts, training={"note": "round trip"}, metrics={"test": {"accuracy": 0.5}}
    )
    return folder, version, load_model(folder, device="cpu")


def test_folder_is_self_describing_without_pickles(saved: tuple[Path, str, ScoutModel]) -> None:
    folder, version, _ = saved
    names = {p.name for p in folder.iterdir()}
    assert {"model.json", "text_encoder.json", "image_encoder.json", "image_encoder.safetensors"} <= names
    assert {"profiler.json", "profiler.safetensors", "training.json", "metrics.json"} <= names
    assert not any(p.suffix in (".pt", ".pth", ".pkl", ".bin") for p in folder.iterdir())
    meta = json.loads((folder / "model.json").read_text())
    assert meta["version"] == version
    assert meta["labels"][0] == "beauty" and meta["modalities"] == ["image", "text"]
    assert {"torch", "transformers", "safetensors"} <= set(meta["library_versions"])
    assert json.loads((folder / "profiler.json").read_text())["attention_dim"] == 8


def test_save_load_gives_identical_outputs(
    tiny_parts: ModelParts, saved: tuple[Path, str, ScoutModel]
) -> None:
    _, version, model = saved
    assert model.version == version and model.labels == tiny_parts.labels
    assert (model.feature_dim, model.hidden_dim) == (32 + 384, 24)
    features = np.random.default_rng(0).normal(size=(7, model.feature_dim)).astype(np.float32)
    step = model.post_step(features)
    with torch.no_grad():
        h, s, logits = tiny_parts.profiler.post_step(torch.from_numpy(features))
        e = torch.randn(4, 24, generator=torch.Generator().manual_seed(2))
        expected_probs = torch.softmax(tiny_parts.profiler.classify(e), -1)
    np.testing.assert_allclose(step.h, h.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(step.scores, s.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(step.post_probs, torch.softmax(logits, -1).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.classify(e.numpy()), expected_probs.numpy(), rtol=1e-5, atol=1e-6)
    assert step.h.dtype == step.scores.dtype == step.post_probs.dtype == np.float32
    np.testing.assert_allclose(step.post_probs.sum(1), 1.0, rtol=1e-5)


def test_encode_matches_the_encoders_and_zero_fills_missing_images(
    tiny_parts: ModelParts, saved: tuple[Path, str, ScoutModel]
) -> None:
    _, _, model = saved
    posts = [
        PostInput("fresh pasta tonight #food", _jpeg((200, 30, 30))),
        PostInput("gym day #fitness", None),
    ]
    features = model.encode(posts)
    assert features.shape == (2, model.feature_dim) and features.dtype == np.float32
    image = ImageEncoder(ImageEncoderConfig(), device="cpu", state_dict=tiny_parts.image_state)
    text = TextEncoder(device="cpu")
    np.testing.assert_allclose(features[0, :32], image.encode([posts[0].image])[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(features[:, 32:], text.encode([p.text for p in posts]), rtol=1e-5, atol=1e-6)
    assert np.all(features[1, :32] == 0), "no image -> the zero missing-image vector"
    assert model.encode([]).shape == (0, model.feature_dim)


def test_profile_equals_pooling_post_steps(saved: tuple[Path, str, ScoutModel]) -> None:
    _, _, model = saved
    features = np.random.default_rng(5).normal(size=(9, model.feature_dim)).astype(np.float32)
    step = model.post_step(features)
    pooled = model.pool(step.h, step.scores)
    weights = np.exp(step.scores - step.scores.max())
    np.testing.assert_allclose(pooled, (weights / weights.sum()) @ step.h, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        out = model.profiler(torch.from_numpy(features)[None], torch.ones(1, 9, dtype=torch.bool))
    np.testing.assert_allclose(
        model.profile(features), torch.softmax(out.influencer_logits, -1)[0].numpy(), rtol=1e-5
    )
    np.testing.assert_allclose(pooled, softmax_pool(step.h, step.scores))


def test_version_is_a_content_hash(tmp_path: Path, tiny_parts: ModelParts) -> None:
    a = save_model(tmp_path / "a", tiny_parts, metrics={"x": 1})
    b = save_model(tmp_path / "b", tiny_parts, metrics={"x": 2})
    assert a == b, "metrics are not part of the version"
    other = ModelParts(**{**tiny_parts.__dict__, "window": 8})
    other.profiler = type(tiny_parts.profiler)(tiny_parts.profiler.config)
    assert save_model(tmp_path / "c", other) != a


def test_tampered_or_missing_folders_fail_clearly(tmp_path: Path, tiny_parts: ModelParts) -> None:
    folder = tmp_path / "m"
    save_model(folder, tiny_parts)
    (folder / "profiler.json").write_text((folder / "profiler.json").read_text().replace("24", "25"))
    with pytest.raises(ModelFormatError, match="files changed"):
        load_model(folder)
    with pytest.raises(ModelNotFoundError, match="scout train"):
        load_model(tmp_path / "nowhere")
    (folder / "model.json").unlink()
    with pytest.raises(ModelFormatError, match="lacks model.json"):
        load_model(folder)
