"""Image encoder: image bytes -> a feature vector.

Backbones: the compact CNN trained here on the post-category task (the default when no pretrained
weights exist on the machine), torchvision ResNet-18/50 and Inception-v3 from a local state-dict
file, or a Hugging Face vision encoder (CLIP, ViT, ...) from a local folder. Preprocessing lives in
one place: ``decode_image`` (bytes -> (3, S, S) uint8, on the CPU) then ``normalize`` (uint8 ->
float, on whatever device the backbone runs). A post with no image gets the zero vector.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import nn

from training.devices import resolve_device
from training.errors import ImageDecodeError, ModelFormatError, ModelNotFoundError

log = logging.getLogger(__name__)

TORCHVISION_BACKBONES = ("resnet18", "resnet50", "inception_v3")
BACKBONES = ("compact_cnn", *TORCHVISION_BACKBONES, "hf")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HALF = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class ImageEncoderConfig:
    """``weights``: a state-dict file (.safetensors/.pt/.pth) for torchvision backbones, a model
    folder for ``hf``; unused by ``compact_cnn``, whose weights are trained and stored with the model.
    """

    backbone: str = "compact_cnn"
    weights: str | None = None
    image_size: int | None = None  # None -> the backbone's native size
    batch_size: int = 64

    def __post_init__(self) -> None:
        assert self.backbone in BACKBONES, f"unknown image backbone {self.backbone!r}; known: {BACKBONES}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageEncoderConfig:
        return cls(**data)


@dataclass(frozen=True)
class Preprocess:
    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


def decode_image(data: bytes, size: int) -> np.ndarray:
    """Image file bytes -> (3, size, size) uint8: shorter side resized to ``size``, centre crop."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.draft("RGB", (size, size))  # JPEG: decode at reduced scale when much larger
            rgb = img.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageDecodeError(f"cannot decode image of {len(data)} bytes: {exc}") from exc
    w, h = rgb.size
    scale = size / min(w, h)
    rw, rh = max(size, round(w * scale)), max(size, round(h * scale))
    rgb = rgb.resize((rw, rh), Image.Resampling.BILINEAR)
    left, top = (rw - size) // 2, (rh - size) // 2
    rgb = rgb.crop((left, top, left + size, top + size))
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1))  # (3, S, S)


def normalize(batch: torch.Tensor, pre: Preprocess) -> torch.Tensor:
    """(n, 3, S, S) uint8 -> (n, 3, S, S) float32, per-channel standardised, on batch's device."""
    assert batch.dtype == torch.uint8 and batch.ndim == 4, (
        f"expected (n,3,S,S) uint8, got {batch.dtype} {tuple(batch.shape)}"
    )
    mean = torch.tensor(pre.mean, device=batch.device).view(1, 3, 1, 1)
    std = torch.tensor(pre.std, device=batch.device).view(1, 3, 1, 1)
    return (batch.float() / 255.0 - mean) / std


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise ModelNotFoundError(
            f"image encoder weights {path} do not exist; nothing is downloaded at run time: copy a "
            "torchvision state-dict file there (.safetensors, .pt or .pth), or leave the weights "
            "unset to train the compact CNN"
        )
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelFormatError(f"{path} does not hold a state dict (found {type(state).__name__})")
    return state


def _torchvision_backbone(name: str) -> nn.Module:
    """The torchvision network with its classifier removed: forward gives pooled features."""
    from torchvision import models

    if name == "inception_v3":
        net = models.inception_v3(weights=None, aux_logits=False, init_weights=False, transform_input=False)
    else:
        net = getattr(models, name)(weights=None)
    net.fc = nn.Identity()
    return net


class _HFVision(nn.Module):
    """A Hugging Face vision encoder as a (n, 3, S, S) -> (n, D) module."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        if hasattr(self.model, "get_image_features"):  # CLIP-style dual encoders: projected embedding
            out = self.model.get_image_features(pixel_values=pixels)
            return out if isinstance(out, torch.Tensor) else out.pooler_output
        out = self.model(pixel_values=pixels)
        pooled = getattr(out, "pooler_output", None)
        return pooled if pooled is not None else out.last_hidden_state.mean(dim=1)


def _hf_preprocess(folder: Path, image_size: int | None) -> Preprocess:
    conf_path = folder / "preprocessor_config.json"
    conf = json.loads(conf_path.read_text()) if conf_path.is_file() else {}
    size = image_size
    for key in ("crop_size", "size"):
        value = conf.get(key)
        if size is None and isinstance(value, int):
            size = value
        elif size is None and isinstance(value, dict):
            size = value.get("height") or value.get("shortest_edge")
    mean = tuple(conf.get("image_mean", IMAGENET_MEAN))
    std = tuple(conf.get("image_std", IMAGENET_STD))
    return Preprocess(int(size or 224), mean, std)  # type: ignore[arg-type]


def build_backbone(
    config: ImageEncoderConfig, state_dict: dict[str, torch.Tensor] | None = None
) -> tuple[nn.Module, Preprocess]:
    """The feature network and its preprocessing. ``state_dict`` (from a model folder) wins over
    ``config.weights``; the compact CNN requires it."""
    from training.encoders.compact_cnn import CompactCNN, CompactCNNConfig

    if config.backbone == "compact_cnn":
        if state_dict is None:
            raise ModelNotFoundError(
                "the compact CNN image encoder has no weights; it is trained by `scout train` and "
                "stored in the model folder (image_encoder.safetensors)"
            )
        cnn_conf = CompactCNNConfig.from_state_dict(state_dict)
        net: nn.Module = CompactCNN(cnn_conf)
        net.load_state_dict(state_dict)
        return net, Preprocess(config.image_size or cnn_conf.image_size, HALF, HALF)
    if config.backbone in TORCHVISION_BACKBONES:
        if state_dict is None:
            if config.weights is None:
                raise ModelNotFoundError(
                    f"image backbone {config.backbone} needs pretrained weights: pass a local "
                    "torchvision state-dict file as the image weights (nothing is downloaded)"
                )
            state_dict = _read_state_dict(Path(config.weights).expanduser())
        heads = ("fc.", "AuxLogits.")
        state_dict = {k: v for k, v in state_dict.items() if not k.startswith(heads)}
        net = _torchvision_backbone(config.backbone)
        try:
            net.load_state_dict(state_dict)
        except RuntimeError as exc:
            raise ModelFormatError(f"weights do not fit torchvision {config.backbone}: {exc}") from exc
        native = 299 if config.backbone == "inception_v3" else 224
        stats = HALF if config.backbone == "inception_v3" else IMAGENET_MEAN
        spread = HALF if config.backbone == "inception_v3" else IMAGENET_STD
        return net, Preprocess(config.image_size or native, stats, spread)
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    folder = Path(config.weights or "").expanduser()
    if config.weights is None or not (folder / "config.json").is_file():
        raise ModelNotFoundError(
            f"Hugging Face vision encoder folder {folder} does not exist or has no config.json; copy "
            "a local model folder (e.g. a CLIP or ViT save_pretrained output) there and pass it as "
            "the image weights"
        )
    hf_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(folder, local_files_only=True)
    return _HFVision(model), _hf_preprocess(folder, config.image_size)


class ImageEncoder:
    """Image bytes (or None) -> (n, D) float32 features; one backbone, loaded once."""

    def __init__(
        self,
        config: ImageEncoderConfig = ImageEncoderConfig(),
        device: str | torch.device = "auto",
        state_dict: dict[str, torch.Tensor] | None = None,
    ) -> None:
        self.config = config
        self.device = resolve_device(device)
        self.backbone, self.preprocess = build_backbone(config, state_dict)
        self.backbone.eval().to(self.device)
        probe = torch.zeros(1, 3, self.preprocess.size, self.preprocess.size, dtype=torch.uint8)
        self.dim = int(self.encode_decoded(probe).shape[1])
        log.info(
            "image encoder %s (dim %d, %dpx) on %s",
            config.backbone,
            self.dim,
            self.preprocess.size,
            self.device,
        )

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Weights to store in a model folder (empty for Hugging Face folders, stored by reference)."""
        if self.config.backbone == "hf":
            return {}
        return {k: v.detach().cpu().contiguous() for k, v in self.backbone.state_dict().items()}

    @torch.inference_mode()
    def encode_decoded(self, batch: torch.Tensor) -> np.ndarray:
        """(n, 3, S, S) uint8 -> (n, D) float32."""
        out = []
        for start in range(0, batch.shape[0], self.config.batch_size):
            chunk = batch[start : start + self.config.batch_size].to(self.device, non_blocking=True)
            feats = self.backbone(normalize(chunk, self.preprocess))  # (b, D)
            out.append(feats.float().flatten(1).cpu())
        return torch.cat(out).numpy() if out else np.zeros((0, 0), dtype=np.float32)

    def encode(self, images: Sequence[bytes | None]) -> np.ndarray:
        """(n,) image bytes or None -> (n, D) float32; None gives the zero (missing-image) vector.
        Raises ImageDecodeError for bytes that are not an image."""
        out = np.zeros((len(images), self.dim), dtype=np.float32)
        present = [i for i, data in enumerate(images) if data is not None]
        if present:
            size = self.preprocess.size
            decoded = np.stack([decode_image(images[i], size) for i in present])  # (k, 3, S, S)
            out[present] = self.encode_decoded(torch.from_numpy(decoded))
        return out
