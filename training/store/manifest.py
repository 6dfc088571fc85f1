"""The feature store's manifest (``store.json``): what made the features and what they hold."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from training.errors import FeatureStoreError

FORMAT = "influencer-scout-feature-store"
FORMAT_VERSION = 2  # 2 added each post's sponsorship flags to packed/posts.parquet
MANIFEST_FILE = "store.json"
IMAGE_WEIGHTS_FILE = "image_encoder.safetensors"
POSTS_DIR = "posts"  # the Parquet the Spark job writes, partitioned by bucket
PACKED_DIR = "packed"  # the RowFile copy training reads


@dataclass(frozen=True)
class StoreManifest:
    """``modalities`` lists the feature blocks in column order (MODALITIES order), ``dims`` their
    widths; ``text`` and ``image`` are the encoder configs as a model folder records them."""

    dataset: str  # training.dataset.fingerprint.dataset_fingerprint of the copy embedded
    modalities: tuple[str, ...]
    dims: dict[str, int]
    text: dict[str, Any] | None
    image: dict[str, Any] | None
    image_weights: bool  # IMAGE_WEIGHTS_FILE holds the image tower's trained weights
    source_model: str | None  # version of the model folder whose encoders were used, if any
    buckets: int
    posts: int
    influencers: int

    @property
    def feature_dim(self) -> int:
        return sum(self.dims[m] for m in self.modalities)

    def columns(self, modalities: tuple[str, ...]) -> slice:
        """The feature columns of ``modalities``, which must be a run of this store's blocks."""
        start = 0
        bounds: dict[str, tuple[int, int]] = {}
        for name in self.modalities:
            bounds[name] = (start, start + self.dims[name])
            start += self.dims[name]
        missing = [m for m in modalities if m not in bounds]
        if missing:
            raise FeatureStoreError(f"the store holds {list(self.modalities)} features, not {missing}")
        lo, hi = bounds[modalities[0]][0], bounds[modalities[-1]][1]
        if hi - lo != sum(self.dims[m] for m in modalities):
            raise FeatureStoreError(f"{list(modalities)} are not adjacent blocks of {list(self.modalities)}")
        return slice(lo, hi)

    def write(self, store: Path) -> None:
        data = {"format": FORMAT, "format_version": FORMAT_VERSION, **asdict(self)}
        data["modalities"] = list(self.modalities)
        (store / MANIFEST_FILE).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_manifest(store: str | Path) -> StoreManifest:
    path = Path(store) / MANIFEST_FILE
    if not path.is_file():
        raise FeatureStoreError(
            f"{store} is not a feature store (no {MANIFEST_FILE}); write one with `scout features`"
        )
    data = json.loads(path.read_text())
    if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
        raise FeatureStoreError(
            f"{path} holds format {data.get('format')!r} v{data.get('format_version')}, this code reads "
            f"{FORMAT!r} v{FORMAT_VERSION}; write the store again with `scout features`"
        )
    data.pop("format"), data.pop("format_version")
    return StoreManifest(**{**data, "modalities": tuple(data["modalities"])})
