"""Packing a store's Parquet into the RowFile training reads, one record batch at a time."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from training.errors import FeatureStoreError
from training.rowfile import RowFile
from training.store.manifest import PACKED_DIR, POSTS_DIR

log = logging.getLogger(__name__)

FEATURES = "features"
INFLUENCERS_FILE = "influencers.parquet"
POSTS_FILE = "posts.parquet"
# Each post's sponsorship flags, as training.sponsorship.labels.PostSponsorship names them: the
# paid-partnership tag, a disclosure marker, an account named (the Spark job derives them from the
# reader's sponsored, disclosures and mentions, training.encoders.spark_features.post_frame).
FLAGS = ("tagged", "marked", "mentioned")
_POST_SCHEMA = pa.schema(
    [("post_id", pa.string()), ("influencer", pa.string()), ("ts", pa.int64())]
    + [(flag, pa.bool_()) for flag in FLAGS]
)


def _features(column: pa.ChunkedArray | pa.Array, width: int) -> np.ndarray:
    values = pa.chunked_array([column]) if isinstance(column, pa.Array) else column
    flat = np.concatenate([chunk.flatten().to_numpy(zero_copy_only=False) for chunk in values.chunks])
    if flat.size != len(column) * width:
        raise FeatureStoreError(f"a feature row is not {width} floats wide")
    return flat.astype(np.float32, copy=False).reshape(len(column), width)


def pack_store(store: Path, buckets: int, width: int, batch_rows: int = 8192) -> tuple[int, int]:
    """Write STORE/packed from STORE/posts; returns (posts, influencers). Each bucket's rows must be
    grouped by influencer (the Spark job sorts them); an influencer met twice is an error."""
    packed = store / PACKED_DIR
    packed.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    starts: list[int] = []
    seen: set[str] = set()
    row = 0
    posts_out = pq.ParquetWriter(packed / POSTS_FILE, _POST_SCHEMA)
    with RowFile.create(packed / FEATURES, row_shape=(width,), dtype=np.float32) as rows:
        for bucket in range(buckets):
            for part in sorted((store / POSTS_DIR / f"bucket={bucket}").glob("*.parquet")):
                parquet = pq.ParquetFile(part)
                columns = [*_POST_SCHEMA.names, "features"]
                for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
                    who = batch.column("influencer").to_pylist()
                    for i, name in enumerate(who):
                        if not names or names[-1] != name:
                            if name in seen:
                                raise FeatureStoreError(
                                    f"{part}: the posts of {name!r} are not in one run; write the store again"
                                )
                            seen.add(name)
                            names.append(name)
                            starts.append(row + i)
                    rows.append(_features(batch.column("features"), width))
                    posts_out.write_batch(
                        pa.record_batch([batch.column(c) for c in _POST_SCHEMA.names], schema=_POST_SCHEMA)
                    )
                    row += len(who)
    posts_out.close()
    ends = starts[1:] + [row]
    pq.write_table(
        pa.table(
            {"influencer": names, "start": pa.array(starts, pa.int64()), "end": pa.array(ends, pa.int64())}
        ),
        packed / INFLUENCERS_FILE,
    )
    log.info("packed %d posts of %d influencers", row, len(names))
    return row, len(names)
