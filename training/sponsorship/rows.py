"""Post features read a block of rows at a time, the same code for an in-memory array and a feature
store's rows (``training.store.read.StoredFeatures``, which reads just the rows asked for).

    probs = over_rows(head.probability, features, test_rows)   # (len(test_rows),), CHUNK rows a read

What a call holds is one block of ``chunk`` rows and its results, never every post's features.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

if TYPE_CHECKING:
    from training.store.read import StoredFeatures

# (N, F) float32 post features by row: an array in memory, or a feature store's rows on disk
PostRows: TypeAlias = "np.ndarray | StoredFeatures"
CHUNK = 16384  # rows per read: 32 MiB at the compact CNN's 512 floats a post


def row_blocks(features: PostRows, rows: np.ndarray, chunk: int = CHUNK) -> Iterator[np.ndarray]:
    """``features[rows]`` as consecutive blocks of at most ``chunk`` rows, (n, F) float32 each."""
    rows = np.asarray(rows, dtype=np.int64)
    for start in range(0, len(rows), chunk):
        yield np.asarray(features[rows[start : start + chunk]], dtype=np.float32)


def over_rows(
    fn: Callable[[np.ndarray], np.ndarray], features: PostRows, rows: np.ndarray, chunk: int = CHUNK
) -> np.ndarray:
    """``fn(features[rows])`` for a per-row ``fn`` ((n, F) -> (n,)), computed a block at a time."""
    parts = [fn(block) for block in row_blocks(features, rows, chunk)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
