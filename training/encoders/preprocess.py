"""The image preprocessing every encoder path shares: training, the streaming job and the GPU embed
pipeline all call these, so a tower sees the same pixels wherever it runs.

``decode_image``: image bytes -> (3, S, S) uint8 on the CPU (shorter side to S, centre crop).
``normalize``: (n, 3, S, S) uint8 -> float32, per-channel standardised by a ``Preprocess``, on
whatever device the batch is. ``IMAGENET_MEAN``/``IMAGENET_STD`` are the statistics torchvision's
ImageNet weights were trained with; ``HALF`` maps [0, 1] to [-1, 1] (the compact CNN, Inception).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from training.errors import ImageDecodeError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HALF = (0.5, 0.5, 0.5)


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
