"""The packaged MobileNetV2 tower: its weights are really ImageNet-trained (real photos that ship
inside installed packages get their ImageNet classes, a random network does not), it is found
offline, and a model folder refers to it by its file's sha256 and refuses another file."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import matplotlib.cbook
import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image
from torchvision import models
from torchvision.models._meta import _IMAGENET_CATEGORIES

from training.encoders.image import ImageEncoder, ImageEncoderConfig, weights_file
from training.encoders.preprocess import IMAGENET_MEAN, IMAGENET_STD
from training.encoders.pretrained import PACKAGED, PackagedWeights, packaged_weights
from training.errors import ModelFormatError, ModelNotFoundError
from training.model_dir import ModelParts, load_model, save_model
from training.profiler import PostAttentiveProfiler, ProfilerConfig

# photo -> ImageNet classes any of which in the top 5 is right (names as torchvision lists them)
EXPECTED = {
    "coffee": {"cup", "espresso", "coffee mug"},
    "chelsea": {"tabby", "tiger cat", "Egyptian cat"},
    "rocket": {"missile", "projectile", "space shuttle"},
    "grace_hopper": {"military uniform"},
}


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def photos() -> dict[str, bytes]:
    """Real photographs shipped inside scikit-image and matplotlib (no download)."""
    found = {name: _png(getattr(skimage.data, name)()) for name in ("coffee", "chelsea", "rocket")}
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as handle:
        found["grace_hopper"] = handle.read()
    return found


@pytest.fixture(scope="module")
def packaged() -> ImageEncoder:
    return ImageEncoder(ImageEncoderConfig("mobilenet_v2"), device="cpu")


@pytest.fixture(scope="module")
def imagenet_head(packaged: ImageEncoder) -> tuple[torch.Tensor, torch.Tensor]:
    """The packaged file's ImageNet classifier (the encoder drops it): (1000, 1280), (1000,)."""
    state = torch.load(weights_file(packaged.config), map_location="cpu", weights_only=True)
    return state["classifier.1.weight"], state["classifier.1.bias"]


def _top5_hits(
    encoder: ImageEncoder, head: tuple[torch.Tensor, torch.Tensor], photos: dict[str, bytes]
) -> dict[str, list[str]]:
    """photo -> its top-5 ImageNet classes, for the photos whose top 5 holds an expected class."""
    features = torch.from_numpy(encoder.encode(list(photos.values())))  # (n, 1280)
    logits = features @ head[0].T + head[1]  # (n, 1000)
    tops = {
        name: [_IMAGENET_CATEGORIES[i] for i in row.topk(5).indices]
        for name, row in zip(photos, logits, strict=True)
    }
    return {name: top for name, top in tops.items() if EXPECTED[name] & set(top)}


def test_the_packaged_weights_are_found_offline_and_give_1280_features(packaged: ImageEncoder) -> None:
    path = packaged_weights("mobilenet_v2")
    assert path.name == "mobilenet_v2-b0353104.pth" and path.is_file()
    assert packaged.dim == 1280
    assert packaged.preprocess.size == 224
    assert (packaged.preprocess.mean, packaged.preprocess.std) == (IMAGENET_MEAN, IMAGENET_STD)
    # torchvision names its files by the sha256's first 8 hex digits
    assert packaged.config.weights_sha256 is not None and packaged.config.weights_sha256.startswith(
        "b0353104"
    )
    assert packaged.state_dict() == {}  # stored by reference


def test_real_photos_get_their_imagenet_classes_and_a_random_network_does_not(
    packaged: ImageEncoder, imagenet_head: tuple[torch.Tensor, torch.Tensor], photos: dict[str, bytes]
) -> None:
    hits = _top5_hits(packaged, imagenet_head, photos)
    assert set(hits) == set(EXPECTED), f"top 5 without an expected class: {set(EXPECTED) - set(hits)}"
    torch.manual_seed(0)
    random_state = models.mobilenet_v2(weights=None).state_dict()
    random = ImageEncoder(ImageEncoderConfig("mobilenet_v2"), device="cpu", state_dict=random_state)
    assert _top5_hits(random, imagenet_head, photos) == {}


def test_a_missing_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    absent = PackagedWeights("not-installed-weights", "not_installed_weights", "mobilenet_v2-b0353104.pth")
    monkeypatch.setitem(PACKAGED, "mobilenet_v2", absent)
    with pytest.raises(ModelNotFoundError, match="not-installed-weights.*requirements-nodeps.lock"):
        ImageEncoder(ImageEncoderConfig("mobilenet_v2"), device="cpu")


def test_another_weights_file_is_refused() -> None:
    with pytest.raises(ModelFormatError, match="the model was built from 0{64}"):
        ImageEncoder(ImageEncoderConfig("mobilenet_v2", weights_sha256="0" * 64), device="cpu")


def test_a_model_folder_refers_to_the_weights_by_hash_and_checks_them(tmp_path: Path) -> None:
    weights = tmp_path / "mobilenet_v2.pth"
    shutil.copyfile(packaged_weights("mobilenet_v2"), weights)
    encoder = ImageEncoder(ImageEncoderConfig("mobilenet_v2", weights=str(weights)), device="cpu")
    torch.manual_seed(0)
    profiler = PostAttentiveProfiler(ProfilerConfig(feature_dim=1280, num_classes=2, hidden_dim=8))
    parts = ModelParts(
        profiler=profiler.eval(),
        labels=("food", "pet"),
        modalities=("image",),
        window=4,
        image=encoder.config,
        image_dim=encoder.dim,
        image_state=encoder.state_dict(),
    )
    folder = tmp_path / "model"
    save_model(folder, parts)
    assert not (folder / "image_encoder.safetensors").exists()  # no copy of the weights
    recorded = json.loads((folder / "image_encoder.json").read_text())["config"]
    assert recorded["backbone"] == "mobilenet_v2"
    assert recorded["weights_sha256"] == encoder.config.weights_sha256
    image = _png(skimage.data.coffee())
    _, loaded = load_model(folder, device="cpu").encoders()
    assert loaded is not None
    np.testing.assert_allclose(loaded.encode([image]), encoder.encode([image]), rtol=1e-5, atol=1e-5)
    # the file changes under the model (one weight nudged): loading names both hashes
    state = torch.load(weights, map_location="cpu", weights_only=True)
    state["features.0.0.weight"][0, 0, 0, 0] += 1e-3
    torch.save(state, weights)
    with pytest.raises(ModelFormatError, match=str(encoder.config.weights_sha256)):
        load_model(folder, device="cpu").encoders()
