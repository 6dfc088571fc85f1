"""The Spark job's feature store: the same vectors as the model's own encode, post by post, each
influencer's posts in one run in time order, the same sponsorship flags as the in-memory path's,
and a manifest that says what made them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from training.dataset.reader import open_dataset
from training.encoders.post_text import post_text
from training.errors import FeatureStoreError
from training.interface import PostInput
from training.model_dir import load_model
from training.pipeline import Prepared
from training.sponsorship.labels import post_sponsorship
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


def test_store_flags_equal_the_in_memory_ones(
    tiny_store, tiny_world: Path, tiny_prepared: Prepared, feature_cache: Path
) -> None:
    """Every post's paid-partnership tag, disclosure marker and account named, as the Spark job
    wrote them, equal what post_sponsorship reads from the copy for the post table."""
    path, manifest = tiny_store
    store = open_store(path, [tiny_world])
    table = tiny_prepared.table
    memory = post_sponsorship([tiny_world], table, str(feature_cache))
    stored = store.sponsorship()
    ids = [pid for batch in store.post_id_batches() for pid in batch]
    assert len(ids) == len(stored.tagged) == manifest.posts == len(table)
    row_of = {pid: i for i, pid in enumerate(table.post_ids.tolist())}
    rows = np.array([row_of[pid] for pid in ids])
    for flag in ("tagged", "marked", "mentioned"):
        np.testing.assert_array_equal(getattr(stored, flag), getattr(memory, flag)[rows], err_msg=flag)
        assert getattr(stored, flag).any(), f"the tiny world has no post {flag}: the test shows nothing"
    np.testing.assert_array_equal(stored.disclosed, memory.disclosed[rows])


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


def test_the_store_job_runs_on_a_standalone_cluster(
    standalone_cluster, tiny_store, tiny_world: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """`scout features` on a cluster chosen by configuration only writes the store the local run wrote."""
    local_path, _ = tiny_store
    out = tmp_path / "store"
    standalone_cluster.run_scout(
        "features", str(tiny_world), "--out", str(out), "--model", str(tiny_model_dir), "--device", "cpu",
        "--buckets", "3",
    )  # fmt: skip
    assert standalone_cluster.completed_app("influencer-scout-features")["cores"] == 2  # both workers
    local, remote = open_store(local_path, [tiny_world]), open_store(out, [tiny_world])
    assert remote.runs == local.runs
    both = [s.features(s.manifest.modalities) for s in (local, remote)]
    np.testing.assert_allclose(
        both[1][0 : len(local.rows)], both[0][0 : len(local.rows)], rtol=1e-4, atol=1e-5
    )
