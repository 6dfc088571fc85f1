"""Decoded post images as rows on disk: the same pixels as decoding in memory, cached by dataset and
size, in a temporary folder without a cache; the image features read from them match."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import torch

from training.dataset.fingerprint import dataset_fingerprint
from training.dataset.reader import open_dataset
from training.encoders.compact_cnn import CompactCNN, CompactCNNConfig
from training.encoders.features import (
    FeatureCache,
    PostTable,
    decode_table_images,
    decode_table_pixels,
    image_features,
    load_post_table,
)
from training.encoders.image import ImageEncoder, ImageEncoderConfig
from training.encoders.pixels import TablePixels

CNN = CompactCNNConfig(image_size=32, width=4, feature_dim=8)


def _head(table: PostTable, n: int) -> PostTable:
    return PostTable(**{f.name: getattr(table, f.name)[:n] for f in fields(PostTable)})


def test_rows_on_disk_hold_the_pixels_decoded_in_memory(tiny_world: Path, tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path / "cache", dataset_fingerprint([tiny_world]))
    with open_dataset(tiny_world) as ds:
        table = load_post_table(ds, cache)
        expected, has = decode_table_images(table, ds, 32)
        with decode_table_pixels(table, ds, 32, cache, chunk=37) as pixels:  # chunks that do not divide N
            assert len(pixels) == len(table) and pixels.size == 32
            np.testing.assert_array_equal(pixels.present, has)
            np.testing.assert_array_equal(pixels.rows.read(0, len(table)), expected)
            picked = np.array([len(table) - 1, 3, 3, 0])
            np.testing.assert_array_equal(pixels.rows.take(picked), expected[picked])
        entry = cache.root / cache.key("pixels", {"size": 32})
        assert TablePixels.exists(entry)
        entry.with_name(entry.name + ".rows").write_bytes(np.zeros_like(expected).tobytes())
        with decode_table_pixels(table, ds, 32, cache) as again:  # the cached rows, not a new decode
            assert not again.rows.read(0, len(table)).any()
        with decode_table_pixels(table, ds, 16, cache) as smaller:  # another size, another entry
            assert smaller.size == 16 and smaller.rows.read(0, len(table)).any()


def test_without_a_cache_folder_the_rows_go_on_close(tiny_world: Path) -> None:
    cache = FeatureCache(None, dataset_fingerprint([tiny_world]))
    with open_dataset(tiny_world) as ds:
        table = load_post_table(ds, cache)
        pixels = decode_table_pixels(table, ds, 32, cache)
        folder = pixels.rows.path.parent
        assert TablePixels.exists(pixels.rows.path)
        np.testing.assert_array_equal(pixels.rows.read(0, 5), decode_table_images(_head(table, 5), ds, 32)[0])
        pixels.close()
        assert not folder.exists()


def test_image_features_from_the_rows_equal_those_decoded_from_the_dataset(tiny_world: Path) -> None:
    torch.manual_seed(0)
    state = CompactCNN(CNN).eval().state_dict()
    encoder = ImageEncoder(ImageEncoderConfig(), device="cpu", state_dict=state)
    cache = FeatureCache(None, dataset_fingerprint([tiny_world]))
    with open_dataset(tiny_world) as ds:
        table = load_post_table(ds, cache)
        from_dataset = image_features(table, encoder, cache, dataset=ds, chunk=50)
        with decode_table_pixels(table, ds, encoder.preprocess.size, cache) as pixels:
            from_rows = image_features(table, encoder, cache, decoded=pixels, chunk=50)
    assert from_rows.shape == (len(table), CNN.feature_dim) and np.abs(from_rows).sum() > 0
    np.testing.assert_allclose(from_rows, from_dataset, rtol=1e-6, atol=1e-6)
