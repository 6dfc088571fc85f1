"""The two encoder towers as the batched embed pipeline drives them: bare modules, no host-side loops.

``ImageTower``: a network from normalised pixels to features, plus the preprocessing it expects.
``TextTower``: a Hugging Face encoder and its tokenizer, mean-pooled over the attention mask and
L2-normalised exactly as ``training.encoders.text.TextEncoder`` does. Both are plug-ins: build them
from the project's encoders (``from_encoder``) or from any torchvision / transformers module.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from training.encoders.preprocess import Preprocess

if TYPE_CHECKING:
    from training.encoders.image import ImageEncoder
    from training.encoders.text import TextEncoder


@dataclass
class ImageTower:
    module: nn.Module  # (n, 3, S, S) float normalised -> (n, D)
    preprocess: Preprocess
    dim: int

    @classmethod
    def from_encoder(cls, encoder: ImageEncoder) -> ImageTower:
        return cls(encoder.backbone, encoder.preprocess, encoder.dim)

    def to(self, device: torch.device) -> ImageTower:
        self.module.eval().to(device)
        return self


@dataclass
class TextTower:
    model: nn.Module  # Hugging Face encoder: (input_ids, attention_mask) -> last_hidden_state (n, T, D)
    tokenizer: Any  # a Hugging Face tokenizer; a fast (Rust) one is driven directly, without the GIL
    max_length: int
    dim: int
    _backend: Any = field(default=None, init=False, repr=False)  # its Rust tokenizer, padding set

    @classmethod
    def from_encoder(cls, encoder: TextEncoder) -> TextTower:
        return cls(encoder.model, encoder.tokenizer, encoder.config.max_length, encoder.dim)

    def to(self, device: torch.device) -> TextTower:
        self.model.eval().to(device)
        return self

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """(n,) texts -> input_ids, attention_mask: (n, T) int64, padded to the longest in the batch.

        The same ids as ``tokenizer(texts, padding=True, truncation=True, max_length=...)``; a fast
        tokenizer's Rust backend is called directly (parallel, GIL released), skipping the Python
        conversion of every encoding that makes the plain call cost ~0.1 ms per text."""
        texts = [t if t else "" for t in texts]
        backend = self._rust_backend()
        if backend is None or not texts:
            batch = self.tokenizer(
                texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
            )
            return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
        encode = getattr(backend, "encode_batch_fast", backend.encode_batch)  # fast: no char offsets
        encodings = encode(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)  # (n, T)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)  # (n, T)
        return {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}

    def _rust_backend(self) -> Any:
        """A private copy of the fast tokenizer's backend with this tower's truncation and padding."""
        if self._backend is None and getattr(self.tokenizer, "is_fast", False):
            backend = copy.deepcopy(self.tokenizer.backend_tokenizer)
            backend.enable_truncation(max_length=self.max_length)
            backend.enable_padding(
                pad_id=self.tokenizer.pad_token_id,
                pad_type_id=self.tokenizer.pad_token_type_id,
                pad_token=self.tokenizer.pad_token,
            )
            self._backend = backend
        return self._backend

    def pool(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(n, T) tokens -> (n, D) float32 unit vectors (mean over real tokens)."""
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (n, T, D)
        hidden = hidden.float()
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (n, T, 1)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # (n, D)
        return nn.functional.normalize(pooled, p=2, dim=1)
