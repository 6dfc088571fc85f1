"""Image encoder: image bytes -> a feature vector.

Backbones: the compact CNN trained here on the post-category task (the default), torchvision
MobileNetV2 from the ImageNet weights an installed package ships (found offline, 1280-d), torchvision
ResNet-18/50, Inception-v3 (or MobileNetV2) from a local state-dict file, or a Hugging Face vision
encoder (CLIP, ViT, ...) from a local folder. Preprocessing is ``training.encoders.preprocess``'s:
``decode_image`` (bytes -> (3, S, S) uint8, on the CPU) then ``normalize`` (uint8 -> float, on
whatever device the backbone runs). A post with no image gets the zero vector.

A pretrained torchvision tower is frozen and stored by reference: the config records the sha256 of
the weights file it was built from, a model folder keeps that config instead of a copy of the
weights, and building the encoder again refuses a file with another hash. A tower whose last
``finetune_blocks`` modules were tuned (``training.encoders.finetune``) still reads its trunk from
that file; only the tuned modules' weights are stored, and building it needs them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from training.devices import resolve_device
from training.encoders.compact_cnn import CompactCNN, CompactCNNConfig
from training.encoders.preprocess import (
    HALF,
    IMAGENET_MEAN,
    IMAGENET_STD,
    Preprocess,
    decode_image,
    normalize,
)
from training.encoders.pretrained import PACKAGED, file_sha256, packaged_weights
from training.errors import ModelFormatError, ModelNotFoundError

log = logging.getLogger(__name__)

# torchvision networks and the state-dict prefixes of their ImageNet heads (dropped: features only)
_HEADS = {
    "resnet18": ("fc.",),
    "resnet50": ("fc.",),
    "inception_v3": ("fc.", "AuxLogits."),
    "mobilenet_v2": ("classifier.",),
}
TORCHVISION_BACKBONES = tuple(_HEADS)
# backbones whose last ``features`` modules can be tuned, and how many modules ``features`` has
FEATURE_MODULES = {"mobilenet_v2": 19}
BACKBONES = ("compact_cnn", *TORCHVISION_BACKBONES, "hf")


@dataclass(frozen=True)
class ImageEncoderConfig:
    """``weights``: a state-dict file (.safetensors/.pt/.pth) for torchvision backbones (optional
    for the packaged ones, ``PACKAGED``), a model folder for ``hf``; unused by ``compact_cnn``, whose
    weights are trained and stored with the model. ``weights_sha256``: the torchvision weights
    file's hash, recorded when the encoder is built and checked when it is built again.
    """

    backbone: str = "compact_cnn"
    weights: str | None = None
    image_size: int | None = None  # None -> the backbone's native size
    batch_size: int = 64
    weights_sha256: str | None = None
    finetune_blocks: int = 0  # the last modules of ``features`` tuned on the post task; 0: frozen

    def __post_init__(self) -> None:
        assert self.backbone in BACKBONES, f"unknown image backbone {self.backbone!r}; known: {BACKBONES}"
        assert self.finetune_blocks == 0 or (
            self.backbone in FEATURE_MODULES and 0 < self.finetune_blocks < FEATURE_MODULES[self.backbone]
        ), f"{self.backbone} cannot tune {self.finetune_blocks} blocks (see finetune_block_error)"

    @property
    def tuned_prefixes(self) -> tuple[str, ...]:
        """State-dict prefixes of the tuned modules (empty for a frozen or trained-here tower)."""
        if not self.finetune_blocks:
            return ()
        total = FEATURE_MODULES[self.backbone]
        return tuple(f"features.{i}." for i in range(total - self.finetune_blocks, total))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.finetune_blocks:  # a frozen tower's record (and cache keys) as before the option
            del data["finetune_blocks"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageEncoderConfig:
        return cls(**data)


def finetune_block_error(backbone: str, blocks: int) -> str | None:
    """Why ``blocks`` tuned modules do not fit ``backbone`` (None when they do)."""
    if blocks == 0:
        return None
    if backbone not in FEATURE_MODULES:
        return (
            f"fine-tuning the last blocks needs a pretrained torchvision backbone with a `features` "
            f"stack ({', '.join(FEATURE_MODULES)}), not {backbone}"
        )
    total = FEATURE_MODULES[backbone]
    if not 0 < blocks < total:
        return f"{backbone} has {total} feature modules: tune between 1 and {total - 1} of them, not {blocks}"
    return None


def _with_tuned(
    config: ImageEncoderConfig, packaged: dict[str, torch.Tensor], tuned: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """The packaged weights with the tuned modules' replaced; the tuned set must be exactly them."""
    prefixes = config.tuned_prefixes
    expected = {k for k in packaged if k.startswith(prefixes)}
    if set(tuned) != expected:
        raise ModelFormatError(
            f"the tuned image weights do not hold exactly the last {config.finetune_blocks} modules of "
            f"{config.backbone} ({len(tuned)} tensors, expected {len(expected)}); retrain the model"
        )
    return {**packaged, **tuned}


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


def weights_file(config: ImageEncoderConfig) -> Path:
    """The weights file of a torchvision backbone: the configured one, else the packaged one."""
    if config.weights is not None:
        return Path(config.weights).expanduser()
    if config.backbone in PACKAGED:
        return packaged_weights(config.backbone)
    raise ModelNotFoundError(
        f"image backbone {config.backbone} needs pretrained weights: pass a local torchvision "
        "state-dict file as the image weights (nothing is downloaded); mobilenet_v2 finds its own"
    )


def pretrained_state(config: ImageEncoderConfig) -> tuple[dict[str, torch.Tensor], str]:
    """A torchvision backbone's weights and their file's sha256, which must be the recorded one."""
    path = weights_file(config)
    state = _read_state_dict(path)
    digest = file_sha256(path)
    if config.weights_sha256 is not None and digest != config.weights_sha256:
        raise ModelFormatError(
            f"image weights {path} have sha256 {digest}, the model was built from "
            f"{config.weights_sha256}: install the weights it was trained with "
            f"({config.backbone}), or retrain it on these"
        )
    return state, digest


def _torchvision_backbone(name: str) -> nn.Module:
    """The torchvision network with its classifier removed: forward gives pooled features."""
    from torchvision import models

    if name == "inception_v3":
        net = models.inception_v3(weights=None, aux_logits=False, init_weights=False, transform_input=False)
    else:
        net = getattr(models, name)(weights=None)
    if name == "mobilenet_v2":
        net.classifier = nn.Identity()  # (n, 1280) pooled features
    else:
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
    """The feature network and its preprocessing. ``state_dict``: the compact CNN's (required: it
    comes from a model folder); a torchvision backbone's weights given instead of reading its file."""
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
            state_dict, _ = pretrained_state(config)
        heads = _HEADS[config.backbone]
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
    """Image bytes (or None) -> (n, D) float32 features; one backbone, loaded once. Without a
    ``state_dict`` a torchvision backbone reads its weights file, and ``config`` gains its sha256."""

    def __init__(
        self,
        config: ImageEncoderConfig = ImageEncoderConfig(),
        device: str | torch.device = "auto",
        state_dict: dict[str, torch.Tensor] | None = None,
    ) -> None:
        # stored by reference: a model folder records the config (folder, or weights file's hash)
        self.by_reference = config.backbone == "hf"
        if config.finetune_blocks:
            if not state_dict:
                raise ModelNotFoundError(
                    f"the {config.backbone} image encoder tunes its last {config.finetune_blocks} blocks, "
                    "whose weights are trained by `scout train` and stored in the model folder "
                    "(image_encoder.safetensors); that file is missing"
                )
            packaged, digest = pretrained_state(config)
            state_dict = _with_tuned(config, packaged, state_dict)
            config = replace(config, weights_sha256=digest)
        elif not state_dict and config.backbone in TORCHVISION_BACKBONES:
            state_dict, digest = pretrained_state(config)
            config = replace(config, weights_sha256=digest)
            self.by_reference = True
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
        """Weights to store in a model folder (empty for a tower stored by reference: a Hugging Face
        folder, a torchvision weights file whose hash the config records; only the tuned modules
        of a fine-tuned one, whose trunk that file holds)."""
        if self.by_reference:
            return {}
        prefixes = self.config.tuned_prefixes
        return {
            k: v.detach().cpu().contiguous()
            for k, v in self.backbone.state_dict().items()
            if not prefixes or k.startswith(prefixes)
        }

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
