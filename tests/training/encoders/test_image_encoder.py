"""The image encoder: torchvision weights from a local file, the compact CNN, a Hugging Face vision
folder, the one preprocessing path, and clear errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from torchvision import models

from training.encoders.compact_cnn import CNNTrainConfig, CompactCNN, CompactCNNConfig, train_compact_cnn
from training.encoders.image import ImageEncoder, ImageEncoderConfig
from training.encoders.preprocess import decode_image, normalize
from training.errors import ImageDecodeError, ModelFormatError, ModelNotFoundError
from training.rowfile import RowFile


def _jpeg(color: tuple[int, int, int], size: tuple[int, int] = (80, 60)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def test_decode_resizes_the_shorter_side_and_centre_crops() -> None:
    pixels = decode_image(_jpeg((250, 10, 10), (120, 60)), 32)
    assert pixels.shape == (3, 32, 32) and pixels.dtype == np.uint8
    assert abs(int(pixels[0].mean()) - 250) <= 3 and pixels[2].mean() < 20
    with pytest.raises(ImageDecodeError, match="cannot decode"):
        decode_image(b"not an image at all", 32)


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_resnet18_from_a_local_state_dict(tmp_path: Path, suffix: str) -> None:
    torch.manual_seed(0)
    reference = models.resnet18(weights=None).eval()
    path = tmp_path / f"resnet18{suffix}"
    if suffix == ".pth":
        torch.save(reference.state_dict(), path)
    else:
        save_file(reference.state_dict(), str(path))
    encoder = ImageEncoder(ImageEncoderConfig("resnet18", weights=str(path), image_size=64), device="cpu")
    assert encoder.dim == 512
    images = [_jpeg((30, 200, 90)), None]
    features = encoder.encode(images)
    reference.fc = torch.nn.Identity()
    pixels = torch.from_numpy(decode_image(images[0], 64))[None]
    with torch.no_grad():
        expected = reference(normalize(pixels, encoder.preprocess))
    np.testing.assert_allclose(features[0], expected[0].numpy(), rtol=1e-4, atol=1e-5)
    assert np.all(features[1] == 0)
    # stored by reference: no weights to copy, the config records the file's sha256 and rebuilds
    # the same encoder from it; a state dict given instead of the file gives the same one too
    assert encoder.state_dict() == {} and encoder.config.weights_sha256 is not None
    again = ImageEncoder(encoder.config, device="cpu")
    np.testing.assert_allclose(again.encode(images), features, rtol=1e-5, atol=1e-6)
    given = ImageEncoder(
        ImageEncoderConfig("resnet18", image_size=64), device="cpu", state_dict=reference.state_dict()
    )
    np.testing.assert_allclose(given.encode(images), features, rtol=1e-5, atol=1e-6)
    # another file at the same place is refused, naming both hashes
    torch.manual_seed(1)
    if suffix == ".pth":
        torch.save(models.resnet18(weights=None).state_dict(), path)
    else:
        save_file(models.resnet18(weights=None).state_dict(), str(path))
    with pytest.raises(ModelFormatError, match=encoder.config.weights_sha256):
        ImageEncoder(encoder.config, device="cpu")


def test_missing_weights_fail_with_the_path(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="resnet50.pth"):
        ImageEncoder(ImageEncoderConfig("resnet50", weights=str(tmp_path / "resnet50.pth")), device="cpu")
    with pytest.raises(ModelNotFoundError, match="needs pretrained weights"):
        ImageEncoder(ImageEncoderConfig("inception_v3"), device="cpu")
    with pytest.raises(ModelNotFoundError, match="trained by `scout train`"):
        ImageEncoder(ImageEncoderConfig("compact_cnn"), device="cpu")


def test_compact_cnn_default_rebuilds_from_its_weights() -> None:
    config = CompactCNNConfig(image_size=32, width=8, feature_dim=16)
    net = CompactCNN(config).eval()
    encoder = ImageEncoder(ImageEncoderConfig(), device="cpu", state_dict=net.state_dict())
    assert encoder.dim == 16 and encoder.preprocess.size == 32
    with torch.no_grad():
        expected = net(
            normalize(torch.from_numpy(decode_image(_jpeg((9, 9, 200)), 32))[None], encoder.preprocess)
        )
    np.testing.assert_allclose(
        encoder.encode([_jpeg((9, 9, 200))])[0], expected[0].numpy(), rtol=1e-5, atol=1e-6
    )


def test_compact_cnn_stage_learns_a_separable_image_task() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=256)
    images = rng.integers(0, 60, size=(256, 3, 16, 16)).astype(np.uint8)
    images[labels == 1, 0] += 150  # class 1 is red
    config = CompactCNNConfig(image_size=16, width=4, feature_dim=8, num_classes=2)
    net, losses = train_compact_cnn(
        images, labels, config, CNNTrainConfig(epochs=4, batch_size=32), progress=False
    )
    assert losses[-1] < losses[0] * 0.7
    with torch.no_grad():
        from training.encoders.preprocess import HALF, Preprocess

        predicted = (
            net.logits(normalize(torch.from_numpy(images), Preprocess(16, HALF, HALF))).argmax(1).numpy()
        )
    assert np.mean(predicted == labels) > 0.9


def test_compact_cnn_from_rows_on_disk_equals_the_in_memory_array(tmp_path: Path) -> None:
    """The same seed gives the same weights whether the training images are an array in memory
    (``pixels[rows]``, as the stage passed them before) or rows of a RowFile picked by ``rows``:
    the same images in the same order, the same random draws."""
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, size=(300, 3, 16, 16)).astype(np.uint8)
    rows = np.sort(rng.choice(300, size=170, replace=False))[::-1].copy()  # a subset, not in file order
    labels = rng.integers(0, 3, size=len(rows))
    config = CompactCNNConfig(image_size=16, width=4, feature_dim=8, num_classes=3)
    train = CNNTrainConfig(epochs=2, batch_size=32, max_images_per_epoch=100, seed=3)
    with RowFile.create(tmp_path / "pixels", (3, 16, 16), np.uint8) as out:
        for start in range(0, 300, 64):
            out.append(pixels[start : start + 64])
    on_disk = RowFile.open(tmp_path / "pixels")
    in_memory, memory_losses = train_compact_cnn(pixels[rows], labels, config, train, progress=False)
    streamed, disk_losses = train_compact_cnn(on_disk, labels, config, train, progress=False, rows=rows)
    assert disk_losses == memory_losses
    for name, value in in_memory.state_dict().items():
        assert torch.equal(streamed.state_dict()[name], value), name
    shuffled, _ = train_compact_cnn(on_disk, labels, config, train, progress=False, rows=rows[::-1].copy())
    assert not torch.equal(shuffled.state_dict()["feature.weight"], in_memory.state_dict()["feature.weight"])


def test_hugging_face_vision_folder(tmp_path: Path) -> None:
    from transformers import ViTConfig, ViTModel

    folder = tmp_path / "tiny-vit"
    config = ViTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=24,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
    )
    ViTModel(config).save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(
        json.dumps({"size": {"height": 32, "width": 32}, "image_mean": [0.5] * 3, "image_std": [0.5] * 3})
    )
    encoder = ImageEncoder(ImageEncoderConfig("hf", weights=str(folder)), device="cpu")
    assert encoder.dim == 24 and encoder.preprocess.size == 32
    features = encoder.encode([_jpeg((1, 2, 3)), _jpeg((250, 250, 250))])
    assert features.shape == (2, 24) and not np.allclose(features[0], features[1])
    assert encoder.state_dict() == {}, "Hugging Face folders are stored by reference"
