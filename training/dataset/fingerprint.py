"""A copy's identity for caches and stores: path, size and modification time of each root's entries.

Kept apart from the encoders so the processes that only name a copy (the feature store's Spark
driver, the store reader) do not import torch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path


def dataset_fingerprint(roots: Sequence[str | Path]) -> str:
    """Path, size and modification time of each root's top-level entries: changes when the copy does."""
    digest = hashlib.sha256()
    for root in sorted(Path(r).resolve() for r in roots):
        entries = [root] if root.is_file() else sorted(root.iterdir())
        for entry in entries:
            stat = entry.stat()
            digest.update(f"{entry}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]
