"""What ``scout bench embed`` measures on: posts read from a generated world, and the encoder pairs.

Imports only PyTorch, torchvision, transformers, Pillow, numpy and the project's own files, so the
benchmark runs on a bare GPU machine. Weights: the compact CNN and ViT-B/32 are randomly initialised
(throughput does not depend on the values); MobileNetV2 is the project's ``mobilenet_v2`` encoder
with its packaged ImageNet weights, built exactly as training builds it; MiniLM loads its weights
when the folder has them, else it is built at random from the folder's config (same shapes, same
cost).
"""

from __future__ import annotations

import io
import logging
import statistics
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from training.encoders.towers import ImageTower, TextTower
from training.interface import PostInput

log = logging.getLogger(__name__)

ENCODER_PAIRS = {
    "default": "compact CNN (its default size) + MiniLM-L6",
    "vit_b32": "ViT-B/32 (224 px) + MiniLM-L6",
    "mobilenet_v2": "MobileNetV2 (224 px, ImageNet weights) + MiniLM-L6",
}
IMAGE_WEIGHTS = {"default": "random", "vit_b32": "random", "mobilenet_v2": "pretrained"}
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True)
class WorldSample:
    posts: list[PostInput]  # distinct posts; the benchmark cycles through them
    image_share: float  # posts with an image
    image_bytes_mean: float
    image_px_median: int  # median of the longer side

    def describe(self) -> dict[str, float | int | str]:
        return {
            "world_distinct_posts": len(self.posts),
            "world_image_share_ratio": round(self.image_share, 4),
            "world_image_mean_bytes": round(self.image_bytes_mean),
            "world_image_size": f"{self.image_px_median} px (median longer side)",
        }


def load_world(world: Path, limit: int) -> WorldSample:
    """Up to ``limit`` posts of a dataset folder (first image of each, text as the encoder reads it)."""
    from PIL import Image

    from training.dataset.reader import open_dataset
    from training.encoders.post_text import post_text

    posts: list[PostInput] = []
    with open_dataset(world) as ds:
        for record in ds.iter_posts():
            image = ds.read_image(record.image_paths[0]) if record.image_paths else None
            posts.append(PostInput(post_text(record.caption, record.hashtags, record.usertags), image))
            if len(posts) >= limit:
                break
    assert posts, f"no posts found in {world}; generate a world with `scout generate`"
    images = [p.image for p in posts if p.image is not None]
    sides = []
    for data in images[:200]:
        with Image.open(io.BytesIO(data)) as img:
            sides.append(max(img.size))
    return WorldSample(
        posts,
        len(images) / len(posts),
        statistics.fmean(len(b) for b in images) if images else 0.0,
        int(statistics.median(sides)) if sides else 0,
    )


def image_tower(kind: str, seed: int = 0) -> ImageTower:
    """``default``: the compact CNN at its default size; ``vit_b32``: torchvision's ViT-B/32;
    ``mobilenet_v2``: the image encoder of ``--image-backbone mobilenet_v2`` (packaged weights)."""
    from training.encoders.preprocess import HALF, IMAGENET_MEAN, IMAGENET_STD, Preprocess

    torch.manual_seed(seed)
    if kind == "default":
        from training.encoders.compact_cnn import CompactCNN, CompactCNNConfig

        config = CompactCNNConfig()
        return ImageTower(
            CompactCNN(config).eval(), Preprocess(config.image_size, HALF, HALF), config.feature_dim
        )
    if kind == "mobilenet_v2":
        from training.encoders.image import ImageEncoder, ImageEncoderConfig

        return ImageTower.from_encoder(ImageEncoder(ImageEncoderConfig("mobilenet_v2"), device="cpu"))
    assert kind == "vit_b32", f"unknown image tower {kind!r}; known: {tuple(ENCODER_PAIRS)}"
    from torchvision.models import vit_b_32

    vit = vit_b_32(weights=None)
    vit.heads = nn.Identity()  # (n, 768): the class token after the last layer norm
    return ImageTower(vit.eval(), Preprocess(224, IMAGENET_MEAN, IMAGENET_STD), vit.hidden_dim)


def minilm_tower(folder: str | None, force_random: bool = False, seed: int = 0) -> tuple[TextTower, str]:
    """The text tower of ``folder`` (None: the packaged all-MiniLM-L6-v2) and "pretrained" or "random"."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from training.encoders.text import TextEncoderConfig, resolve_text_model_path

    path = resolve_text_model_path(folder)
    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    if not force_random and any((path / name).is_file() for name in _WEIGHT_FILES):
        model, weights = (
            AutoModel.from_pretrained(path, local_files_only=True, dtype=torch.float32),
            "pretrained",
        )
    else:
        torch.manual_seed(seed)
        model, weights = (
            AutoModel.from_config(AutoConfig.from_pretrained(path, local_files_only=True)),
            "random",
        )
    model.eval()
    log.info("text tower from %s with %s weights", path, weights)
    return TextTower(model, tokenizer, TextEncoderConfig().max_length, int(model.config.hidden_size)), weights
