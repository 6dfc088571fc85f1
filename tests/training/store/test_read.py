"""Stored features answer the two ways training indexes a feature array, with reads of those rows,
and their standardisation statistics equal the in-memory ones (no Spark: a row file written here).
A store of an older format is refused by name."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from training.bags import InfluencerBags, gather_rows, make_batch
from training.errors import FeatureStoreError
from training.feature_stats import feature_stats
from training.rowfile import RowFile
from training.store.manifest import FORMAT_VERSION, MANIFEST_FILE, StoreManifest, read_manifest
from training.store.read import StoredFeatures, open_store


def _stored(tmp_path, whole: np.ndarray, columns: slice) -> StoredFeatures:
    with RowFile.create(tmp_path / "features", row_shape=(whole.shape[1],), dtype=np.float32) as out:
        out.append(whole)
    return StoredFeatures(RowFile.open(tmp_path / "features"), columns)


def test_slices_and_row_arrays_read_the_chosen_columns(tmp_path) -> None:
    whole = np.random.default_rng(1).normal(size=(500, 12)).astype(np.float32)
    stored = _stored(tmp_path, whole, slice(4, 12))
    assert stored.shape == (500, 8) and len(stored) == 500
    np.testing.assert_array_equal(stored[10:40], whole[10:40, 4:12])
    rows = np.array([499, 0, 7, 7, 250])
    np.testing.assert_array_equal(stored[rows], whole[rows, 4:12])
    grid = torch.tensor([[3, 4], [0, 0]])
    np.testing.assert_array_equal(gather_rows(stored, grid).numpy(), whole[grid.numpy()][..., 4:12])


def test_batches_from_the_store_equal_batches_in_memory(tmp_path) -> None:
    whole = np.random.default_rng(2).normal(size=(60, 5)).astype(np.float32)
    stored = _stored(tmp_path, whole, slice(0, 5))
    bags = InfluencerBags(
        names=("a", "b", "c"),
        labels=np.array([0, 1, 2]),
        starts=np.array([40, 0, 25]),  # runs in any order of the rows, as a store packs them
        ends=np.array([60, 25, 40]),
        post_topics=np.full(60, -100),
    )
    idx = np.array([2, 0, 1])
    x_memory, mask_memory, _, _ = make_batch(torch.from_numpy(whole), bags, idx, 8, np.random.default_rng(5))
    x_stored, mask_stored, _, _ = make_batch(stored, bags, idx, 8, np.random.default_rng(5))
    assert torch.equal(mask_memory, mask_stored) and torch.equal(x_memory, x_stored)


def test_feature_statistics_from_the_store_equal_the_in_memory_ones(tmp_path) -> None:
    whole = (np.random.default_rng(3).normal(size=(3000, 6)) * [1, 10, 100, 0.1, 5, 1] + 50).astype(
        np.float32
    )
    stored = _stored(tmp_path, whole, slice(0, 6))
    rows = np.random.default_rng(4).permutation(3000)[:2000]
    memory_mean, memory_std = feature_stats(torch.from_numpy(whole), rows)
    stored_mean, stored_std = feature_stats(stored, rows, chunk=333)  # several chunks merged
    torch.testing.assert_close(stored_mean, memory_mean, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(stored_std, memory_std, rtol=1e-4, atol=1e-5)


def test_a_store_of_the_previous_format_is_refused(tmp_path) -> None:
    """Format 1 had no sponsorship flags in posts.parquet: such a store must be written again."""
    manifest = StoreManifest(
        dataset="d", modalities=("text",), dims={"text": 4}, text=None, image=None, image_weights=False,
        source_model=None, buckets=1, posts=0, influencers=0,
    )  # fmt: skip
    manifest.write(tmp_path)
    assert read_manifest(tmp_path) == manifest
    path = tmp_path / MANIFEST_FILE
    old = {**json.loads(path.read_text()), "format_version": FORMAT_VERSION - 1}
    path.write_text(json.dumps(old))
    with pytest.raises(
        FeatureStoreError, match=f"v{FORMAT_VERSION - 1}, this code reads .* v{FORMAT_VERSION}"
    ):
        open_store(tmp_path)
