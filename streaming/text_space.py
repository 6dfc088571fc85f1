"""The text encoder's space of a model folder: where its block sits in the post features, and a query.

A post's features are ``[image | text]`` (the model's modalities in that order); the text block is
what the job pools into each influencer's text vector and what the service compares a query with,
both encoded by the one text encoder of the model folder. A model without the text modality has
no text space (dimension 0): its profiles carry no text vector and topic search is off.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np


def text_dim(model: Any) -> int:
    """Dimensions of the model's text block (0 without the text modality); from the folder's
    text_encoder.json, the file that describes the encoder the model was trained with."""
    if "text" not in model.modalities:
        return 0
    return int(json.loads((model.folder / "text_encoder.json").read_text())["dim"])


def text_block(features: np.ndarray, dim: int) -> np.ndarray:
    """(n, F) post features -> (n, dim) text features (the last block); (n, 0) when dim is 0."""
    assert features.ndim == 2 and features.shape[1] >= dim, f"no {dim} text dims in {features.shape}"
    return features[:, features.shape[1] - dim :]


def encode_query(model: Any, text: str) -> np.ndarray:
    """A search query through the model's text encoder -> (T,) float32 (the space of text vectors)."""
    encoder, _ = model.encoders()
    assert encoder is not None, "the model has no text encoder"
    return np.asarray(encoder.encode([text])[0], dtype=np.float32)
