"""Feature extraction as a Spark job (predict_batch_udf) on the tiny world gives the same vectors
as the model's own encode, post by post."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.dataset.reader import open_dataset
from training.encoders.spark_features import EncoderSource, extract_features_spark, read_features
from training.encoders.text import post_text
from training.interface import PostInput
from training.model_dir import load_model

pytestmark = pytest.mark.integration


def test_spark_extraction_matches_local_encoding(
    spark, tiny_world: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "features.parquet"
    rows = extract_features_spark(
        spark, tiny_world, EncoderSource(model_dir=str(tiny_model_dir), device="cpu"), out
    )
    ids, features = read_features(out)
    model = load_model(tiny_model_dir, device="cpu")
    with open_dataset(tiny_world) as ds:
        posts = sorted(ds.iter_posts(), key=lambda p: p.post_id)
        inputs = [
            PostInput(
                post_text(p.caption, p.hashtags, p.usertags),
                ds.read_image(p.image_paths[0]) if p.image_paths else None,
            )
            for p in posts
        ]
    assert rows == len(posts) == len(ids)
    assert ids.tolist() == [p.post_id for p in posts]
    assert features.shape == (len(posts), model.feature_dim)
    np.testing.assert_allclose(features, model.encode(inputs), rtol=1e-4, atol=1e-5)
