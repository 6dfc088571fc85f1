"""The text encoder: the packaged all-MiniLM-L6-v2 offline, any local folder, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.encoders.text import TextEncoder, TextEncoderConfig, resolve_text_model_path
from training.errors import ModelNotFoundError


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder(device="cpu")


def test_packaged_minilm_loads_offline_and_gives_unit_vectors(encoder: TextEncoder) -> None:
    texts = [
        "homemade ramen with a soft egg",
        "a bowl of noodle soup for dinner",
        "new running shoes for the marathon",
    ]
    vectors = encoder.encode(texts)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2] + 0.1, "related captions are closer than unrelated ones"


def test_batching_and_padding_do_not_change_vectors(encoder: TextEncoder) -> None:
    texts = ["short", "a much longer caption with many more words than the first one #food #yum", ""]
    together = encoder.encode(texts)
    alone = np.concatenate([encoder.encode([t]) for t in texts])
    np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_any_local_folder_works_by_changing_the_path(tmp_path: Path, encoder: TextEncoder) -> None:
    encoder.model.save_pretrained(tmp_path / "copy")
    encoder.tokenizer.save_pretrained(tmp_path / "copy")
    other = TextEncoder(TextEncoderConfig(path=str(tmp_path / "copy")), device="cpu")
    np.testing.assert_allclose(other.encode(["same weights"]), encoder.encode(["same weights"]), rtol=1e-5)


def test_missing_folder_names_the_path_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "bert-base-uncased"
    with pytest.raises(ModelNotFoundError, match="bert-base-uncased") as info:
        resolve_text_model_path(str(missing))
    assert "nothing is downloaded" in str(info.value)
