"""Reading a feature store for training and evaluation: its bags of posts and their features by row.

    store = open_store("build/store", dataset_roots)
    x = store.features(("image", "text"))      # StoredFeatures, (N, F), nothing read yet
    bags = store.bags(labels, order, topics)   # InfluencerBags over the packed rows
    flags = store.sponsorship()                # each row's paid-partnership tag, marker, mention
    x[bags.starts[0] : bags.ends[0]]           # one influencer's posts, one read

``StoredFeatures`` answers the two ways training code indexes a feature array, a slice of rows and
an array of row numbers, with reads of just those rows; its memory is what it returns.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow.parquet as pq

from training.bags import IGNORE, InfluencerBags
from training.dataset.categories import CATEGORIES
from training.dataset.fingerprint import dataset_fingerprint
from training.errors import FeatureStoreError
from training.rowfile import RowFile
from training.store.manifest import PACKED_DIR, StoreManifest, read_manifest
from training.store.pack import FEATURES, FLAGS, INFLUENCERS_FILE, POSTS_FILE

if TYPE_CHECKING:
    from training.sponsorship.labels import PostSponsorship

log = logging.getLogger(__name__)


class StoredFeatures:
    """(N, F) float32 post features in a RowFile, the columns of some modalities, read on demand."""

    def __init__(self, rows: RowFile, columns: slice) -> None:
        self.rows = rows
        self.columns = columns
        width = rows.row_shape[0]
        self.shape = (len(rows), len(range(*columns.indices(width))))
        self.ndim = 2
        self.dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: slice | np.ndarray) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            assert step == 1, "stored features are read in runs of rows"
            block = self.rows.read(start, max(start, stop))
        else:
            block = self.rows.take(np.asarray(key, dtype=np.int64))
        return np.ascontiguousarray(block[:, self.columns])


@dataclass
class FeatureStore:
    path: Path
    manifest: StoreManifest
    rows: RowFile
    runs: dict[str, tuple[int, int]]  # influencer -> [start, end) of its packed rows

    def features(self, modalities: Sequence[str]) -> StoredFeatures:
        return StoredFeatures(self.rows, self.manifest.columns(tuple(modalities)))

    def bags(
        self,
        labels: Mapping[str, str],
        order: Sequence[str],
        topics: Mapping[str, str | None] | None = None,
        categories: Sequence[str] = CATEGORIES,
    ) -> InfluencerBags:
        """One bag per influencer of ``order`` with a known label and posts in the store, in that
        order (training.bags.build_bags's rules; ``order`` is the dataset's influencer order)."""
        index = {c: i for i, c in enumerate(categories)}
        keep = [n for n in dict.fromkeys(order) if n in self.runs and labels.get(n) in index]
        dropped = len(self.runs) - len(keep)
        if dropped:
            log.warning("%d influencers have posts but no known category; they are left out", dropped)
        return InfluencerBags(
            names=tuple(keep),
            labels=np.array([index[labels[n]] for n in keep], dtype=np.int64),
            starts=np.array([self.runs[n][0] for n in keep], dtype=np.int64),
            ends=np.array([self.runs[n][1] for n in keep], dtype=np.int64),
            post_topics=self._post_topics(topics or {}, index),
            categories=tuple(categories),
        )

    def _post_topics(self, topics: Mapping[str, str | None], index: Mapping[str, int]) -> np.ndarray:
        out = np.full(len(self.rows), IGNORE, dtype=np.int64)
        if not topics:
            return out
        row = 0
        for ids in self.post_id_batches():
            out[row : row + len(ids)] = [index.get(topics.get(pid) or "", IGNORE) for pid in ids]
            row += len(ids)
        return out

    def post_id_batches(self) -> Iterator[list[str]]:
        """Every packed row's post id, in row order, one record batch at a time."""
        for batch in pq.ParquetFile(self.path / PACKED_DIR / POSTS_FILE).iter_batches(columns=["post_id"]):
            yield batch.column(0).to_pylist()

    def sponsorship(self) -> PostSponsorship:
        """Each packed row's sponsorship flags ((N,) bool each), as the Spark job wrote them."""
        from training.sponsorship.labels import PostSponsorship

        flags = {flag: np.zeros(len(self.rows), dtype=bool) for flag in FLAGS}
        row = 0
        for batch in pq.ParquetFile(self.path / PACKED_DIR / POSTS_FILE).iter_batches(columns=list(FLAGS)):
            for flag in FLAGS:
                flags[flag][row : row + batch.num_rows] = batch.column(flag).to_numpy(zero_copy_only=False)
            row += batch.num_rows
        if row != len(self.rows):
            raise FeatureStoreError(
                f"{self.path}: {POSTS_FILE} holds {row} posts, its features {len(self.rows)}; write it again"
            )
        return PostSponsorship(**flags)

    def post_ids(self, rows: np.ndarray) -> list[str]:
        """The post ids of the given packed rows (reads the id column, keeps only those asked)."""
        wanted = {int(r): k for k, r in enumerate(rows)}
        found: list[str] = [""] * len(rows)
        row = 0
        for ids in self.post_id_batches():
            for i, pid in enumerate(ids):
                k = wanted.get(row + i)
                if k is not None:
                    found[k] = pid
            row += len(ids)
        return found


def open_store(path: str | Path, roots: Sequence[str | Path] | None = None) -> FeatureStore:
    """The store at ``path``; with ``roots``, it must have been written from that dataset copy."""
    store = Path(path)
    manifest = read_manifest(store)
    if roots is not None and manifest.dataset != dataset_fingerprint(roots):
        raise FeatureStoreError(
            f"{store} was written from another copy of the dataset (or it changed since); "
            "write it again with `scout features`"
        )
    rows = RowFile.open(store / PACKED_DIR / FEATURES)
    if len(rows) != manifest.posts or rows.row_shape != (manifest.feature_dim,):
        raise FeatureStoreError(f"{store}: the packed features do not match its manifest; write it again")
    table = pq.read_table(store / PACKED_DIR / INFLUENCERS_FILE)
    names = table.column("influencer").to_pylist()
    runs = dict(
        zip(
            names,
            zip(table.column("start").to_pylist(), table.column("end").to_pylist(), strict=True),
            strict=True,
        )
    )
    return FeatureStore(store, manifest, rows, runs)


def check_model_encoders(store: FeatureStore, model_dir: Path) -> None:
    """A model evaluated on a store's features must have been trained on the same encoders."""
    import json

    from safetensors.torch import load_file

    from training.encoders.features import weights_fingerprint
    from training.store.manifest import IMAGE_WEIGHTS_FILE

    def config(name: str) -> dict | None:
        return json.loads((model_dir / f"{name}_encoder.json").read_text())["config"]

    def digest(path: Path) -> str | None:
        return weights_fingerprint(load_file(str(path))) if path.is_file() else None

    manifest = store.manifest
    same = (
        config("text") in (None, manifest.text)
        and config("image") in (None, manifest.image)
        and digest(model_dir / IMAGE_WEIGHTS_FILE) == digest(store.path / IMAGE_WEIGHTS_FILE)
    )
    if not same:
        raise FeatureStoreError(
            f"the model {model_dir} was not trained on the encoders of the store {store.path}; "
            f"write a store with its encoders: scout features DATASET --model {model_dir} --out STORE"
        )
