"""The embed pipeline's choices, as types the settings can name without importing torch."""

from __future__ import annotations

from typing import Literal, get_args

# Encoder precision: fp32, or bf16/fp16 autocast (CUDA only).
Precision = Literal["fp32", "bf16", "fp16"]
# Who decodes JPEGs on a GPU machine: host threads, the GPU's decoder, or both at once.
DecodeMode = Literal["host", "gpu", "hybrid"]
# Host JPEG decoder: "pil" (the reference, bit-equal to training) or "turbo" (libjpeg-turbo).
HostDecoder = Literal["pil", "turbo"]

PRECISIONS: tuple[str, ...] = get_args(Precision)
DECODE_MODES: tuple[str, ...] = get_args(DecodeMode)
HOST_DECODERS: tuple[str, ...] = get_args(HostDecoder)
