"""The Spark job's feature store: the same vectors as the model's own encode, post by post, each
influencer's posts in one run in time order, and a manifest that says what made them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from training.dataset.reader import open_dataset
from training.encoders.text import post_text
from training.errors import FeatureStoreError
from training.interface import PostInput
from training.model_dir import load_model
from training.store.manifest import POSTS_DIR
from training.store.read import open_store

pytestmark = pytest.mark.integration


def test_store_features_match_local_encoding(tiny_store, tiny_world: Path, tiny_model_dir: Path) -> None:
    path, manifest = tiny_store
    store = open_store(path, [tiny_world])
    model = load_model(tiny_model_dir, device="cpu")
    with open_dataset(tiny_world) as ds:
        names = ds.usernames()
        posts = {name: ds.posts_of(name) for name in names}
        inputs = {
            name: [
                PostInput(
                    post_text(p.caption, p.hashtags, p.usertags),
                    ds.read_image(p.image_paths[0]) if p.image_paths else None,
                )
                for p in records
            ]
            for name, records in posts.items()
        }
    total = sum(len(records) for records in posts.values())
    assert (manifest.posts, manifest.influencers) == (total, len(names)) == (len(store.rows), len(store.runs))
    assert manifest.modalities == model.modalities and manifest.feature_dim == model.feature_dim
    assert manifest.source_model == model.version and manifest.image_weights
    features = store.features(model.modalities)
    for name in names:
        start, end = store.runs[name]
        ids = store.post_ids(np.arange(start, end))
        assert ids == [p.post_id for p in posts[name]]  # one run, time order (ties by post id)
        np.testing.assert_allclose(features[start:end], model.encode(inputs[name]), rtol=1e-4, atol=1e-5)


def test_parquet_is_partitioned_by_influencer_bucket(tiny_store) -> None:
    path, manifest = tiny_store
    table = pq.read_table(path / POSTS_DIR)
    assert table.num_rows == manifest.posts
    bucket_of: dict[str, set[int]] = {}
    for name, bucket in zip(
        table.column("influencer").to_pylist(), table.column("bucket").to_pylist(), strict=True
    ):
        bucket_of.setdefault(name, set()).add(int(bucket))
    assert all(len(b) == 1 for b in bucket_of.values())  # an influencer's posts sit together
    assert len({b for s in bucket_of.values() for b in s}) > 1


def test_a_store_of_another_copy_is_refused(tiny_store, tmp_path: Path) -> None:
    path, _ = tiny_store
    other = tmp_path / "other"
    other.mkdir()
    (other / "influencers.txt").write_text("x\n")
    with pytest.raises(FeatureStoreError, match="another copy"):
        open_store(path, [other])
    with pytest.raises(FeatureStoreError, match="not a feature store"):
        open_store(tmp_path)
