"""Where tensors run: one rule for every entry point ("auto" = CUDA when present, else CPU)."""

from __future__ import annotations

import torch

from training.errors import TrainingError


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """ "auto" -> cuda if available else cpu; anything else is passed to torch.device and checked."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise TrainingError(f"device {device!r} was asked for but CUDA is not available; use 'cpu' or 'auto'")
    return resolved
