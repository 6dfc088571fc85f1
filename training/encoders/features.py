"""Batched post feature extraction over a whole dataset, cached on disk.

``PostTable`` lists every post once (ids, influencer, time, text, first image). Each encoder's
output over a table is a float32 block cached as ``.npy`` under the cache folder, keyed by the
dataset's fingerprint and the encoder's identity (config, and weights hash where it has weights),
so the profiler and every baseline train on features computed once.

    table = load_post_table(dataset, cache)
    text = text_features(table, TextEncoder(), cache)          # (N, D_txt)
    pixels = decode_table_pixels(table, dataset, size, cache)  # TablePixels: rows on disk + mask
    image = image_features(table, encoder, cache, pixels)      # (N, D_img)
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from tqdm.auto import tqdm

from training.dataset.reader import InstagramDataset
from training.encoders.image import ImageEncoder
from training.encoders.pixels import TablePixels
from training.encoders.post_text import POST_TEXT_RECIPE, post_text
from training.encoders.preprocess import decode_image
from training.encoders.text import TextEncoder
from training.errors import ImageDecodeError

log = logging.getLogger(__name__)


def weights_fingerprint(state: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode() + state[name].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class PostTable:
    """Every readable post, grouped by influencer, each influencer's posts in time order. (N,) each."""

    post_ids: np.ndarray  # str
    influencers: np.ndarray  # str
    timestamps: np.ndarray  # int64, seconds since the epoch (UTC)
    texts: np.ndarray  # str, as built by post_text
    images: np.ndarray  # str, path of the post's first image; "" when it has none

    def __len__(self) -> int:
        return len(self.post_ids)

    def to_arrow(self) -> pa.Table:
        return pa.table({name: pa.array(getattr(self, name).tolist()) for name in _COLUMNS})

    @classmethod
    def from_arrow(cls, table: pa.Table) -> PostTable:
        cols = {name: table.column(name).to_numpy(zero_copy_only=False) for name in _COLUMNS}
        return cls(**{k: v.astype(np.int64 if k == "timestamps" else str) for k, v in cols.items()})


_COLUMNS = ("post_ids", "influencers", "timestamps", "texts", "images")


def collect_posts(dataset: InstagramDataset, usernames: Sequence[str] | None = None) -> PostTable:
    """Read every post's metadata once (the slow part of a large copy; cache the result)."""
    rows: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
    for post in tqdm(dataset.iter_posts(usernames), desc="read posts", unit="post", disable=None):
        rows["post_ids"].append(post.post_id)
        rows["influencers"].append(post.influencer)
        rows["timestamps"].append(int(post.ts.timestamp()))
        rows["texts"].append(post_text(post.caption, post.hashtags, post.usertags))
        rows["images"].append(str(post.image_paths[0]) if post.image_paths else "")
    return PostTable(
        post_ids=np.array(rows["post_ids"], dtype=str),
        influencers=np.array(rows["influencers"], dtype=str),
        timestamps=np.array(rows["timestamps"], dtype=np.int64),
        texts=np.array(rows["texts"], dtype=str),
        images=np.array(rows["images"], dtype=str),
    )


class FeatureCache:
    """``.npy`` blocks, the post table and the decoded pixels (``TablePixels``) under one folder;
    ``None`` root disables caching."""

    def __init__(self, root: str | Path | None, dataset_key: str) -> None:
        self.root = Path(root) if root is not None else None
        self.dataset_key = dataset_key
        if self.root is not None:
            self.root.mkdir(parents=True, exist_ok=True)

    def key(self, kind: str, identity: dict[str, Any]) -> str:
        blob = json.dumps({"dataset": self.dataset_key, "kind": kind, **identity}, sort_keys=True)
        return f"{kind}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"

    def array(self, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        path = None if self.root is None else self.root / f"{key}.npy"
        if path is not None and path.is_file():
            log.info("features from cache %s", path)
            return np.load(path, allow_pickle=False)
        value = compute()
        if path is not None:
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, value, allow_pickle=False)
            tmp.replace(path)
        return value


def load_post_table(dataset: InstagramDataset, cache: FeatureCache) -> PostTable:
    key = cache.key("posts", {"text": POST_TEXT_RECIPE})
    path = None if cache.root is None else cache.root / f"{key}.parquet"
    if path is not None and path.is_file():
        return PostTable.from_arrow(pq.read_table(path))
    table = collect_posts(dataset)
    if path is not None:
        pq.write_table(table.to_arrow(), path)
    log.info("%d posts of %d influencers", len(table), len(set(table.influencers.tolist())))
    return table


def text_features(
    table: PostTable, encoder: TextEncoder, cache: FeatureCache, chunk: int = 2048
) -> np.ndarray:
    """(N, D_txt) float32 for every post of the table."""
    identity = {
        "config": encoder.config.to_dict(),
        "folder": str(encoder.folder),
        "dim": encoder.dim,
        "text": POST_TEXT_RECIPE,
    }

    def compute() -> np.ndarray:
        out = np.zeros((len(table), encoder.dim), dtype=np.float32)
        for start in tqdm(range(0, len(table), chunk), desc="text features", unit="chunk", disable=None):
            out[start : start + chunk] = encoder.encode(table.texts[start : start + chunk].tolist())
        return out

    return cache.array(cache.key("text", identity), compute)


def _decode(table: PostTable, dataset: InstagramDataset, size: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(n, 3, size, size) uint8, (n,) bool "has image", and how many images could not be read."""
    pixels = np.zeros((len(table), 3, size, size), dtype=np.uint8)
    present = np.zeros(len(table), dtype=bool)
    bad = 0
    for i, path in enumerate(table.images.tolist()):
        if not path:
            continue
        try:
            pixels[i] = decode_image(dataset.read_image(path), size)
            present[i] = True
        except (ImageDecodeError, OSError, KeyError):
            bad += 1
    return pixels, present, bad


def _warn_bad(bad: int) -> None:
    if bad:
        log.warning("%d images could not be read or decoded; those posts get the missing-image vector", bad)


def decode_table_images(
    table: PostTable, dataset: InstagramDataset, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """The first image of each post of a (small) table as (n, 3, size, size) uint8 and an (n,) bool
    "has image" mask; unreadable images count as missing (logged once with the count)."""
    pixels, present, bad = _decode(table, dataset, size)
    _warn_bad(bad)
    return pixels, present


def _rows(table: PostTable, start: int, stop: int) -> PostTable:
    return PostTable(*(getattr(table, c)[start:stop] for c in _COLUMNS))


def decode_table_pixels(
    table: PostTable, dataset: InstagramDataset, size: int, cache: FeatureCache, chunk: int = 4096
) -> TablePixels:
    """Every post's first image as rows on disk (``TablePixels``), decoded chunk by chunk once per
    dataset and size (cached; with no cache folder, in a temporary one)."""
    key = cache.key("pixels", {"size": size})
    path = None if cache.root is None else cache.root / key
    if path is not None and TablePixels.exists(path):
        log.info("decoded images from cache %s", path)
        return TablePixels.open(path)
    bad = 0

    def blocks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        nonlocal bad
        for start in tqdm(range(0, len(table), chunk), desc="decode images", unit="chunk", disable=None):
            pixels, present, n_bad = _decode(_rows(table, start, start + chunk), dataset, size)
            bad += n_bad
            yield pixels, present

    decoded = TablePixels.write(path, (3, size, size), blocks())
    _warn_bad(bad)
    return decoded


def image_features(
    table: PostTable,
    encoder: ImageEncoder,
    cache: FeatureCache,
    decoded: TablePixels | None = None,
    dataset: InstagramDataset | None = None,
    chunk: int = 1024,
) -> np.ndarray:
    """(N, D_img) float32; posts without a readable image get zeros. ``decoded`` reuses pixels
    already decoded at the encoder's size, read chunk by chunk; else images are read from
    ``dataset`` chunk by chunk."""
    assert decoded is None or decoded.size == encoder.preprocess.size, "pixels decoded at another size"

    def compute() -> np.ndarray:
        out = np.zeros((len(table), encoder.dim), dtype=np.float32)
        bad = 0
        for start in tqdm(range(0, len(table), chunk), desc="image features", unit="chunk", disable=None):
            stop = min(start + chunk, len(table))
            if decoded is not None:
                pixels, present = decoded.rows.read(start, stop), decoded.present[start:stop]
            else:
                assert dataset is not None, "image_features needs decoded pixels or the dataset"
                pixels, present, n_bad = _decode(_rows(table, start, stop), dataset, encoder.preprocess.size)
                bad += n_bad
            if present.any():
                rows = np.flatnonzero(present)
                out[start + rows] = encoder.encode_decoded(torch.from_numpy(pixels[rows]))
        _warn_bad(bad)
        return out

    return cache.array(image_cache_key(cache, encoder), compute)


def image_cache_key(cache: FeatureCache, encoder: ImageEncoder) -> str:
    """The cache key of an image encoder's features over the dataset: its config, weights, size."""
    identity = {
        "config": encoder.config.to_dict(),
        "weights": weights_fingerprint(encoder.state_dict()),
        "size": encoder.preprocess.size,
    }
    return cache.key("image", identity)
