"""Every post's first image, decoded once into rows on disk, beside an in-memory "has image" mask.

The compact CNN stage reads its training images from these rows a batch at a time (``take``) and the
image features read them chunk by chunk, so the stage's memory is a batch of pixels, not the table's
(about 3 KiB a post at 32 px: 30 GB at the public dataset's ten million posts). The rows live in
the feature cache folder (``NAME.rows``, ``NAME.json``, ``NAME.present.npy``); without one, in a
temporary folder that goes when the pixels are closed.

    with TablePixels.write(folder / key, (3, S, S), blocks) as pixels:   # blocks: (pixels, present)
        pixels.rows.take(np.array([4, 9]))     # (2, 3, S, S) uint8
        pixels.present                         # (N,) bool
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

import numpy as np

from training.rowfile import RowFile

log = logging.getLogger(__name__)

_MASK = ".present.npy"


class TablePixels:
    """(N, 3, S, S) uint8 rows (zeros where there is no image) and the (N,) bool mask."""

    def __init__(self, rows: RowFile, present: np.ndarray, owned: tempfile.TemporaryDirectory | None = None):
        assert present.shape == (len(rows),), f"mask of {present.shape} for {len(rows)} rows"
        assert len(rows.row_shape) == 3 and rows.row_shape[0] == 3, f"rows of {rows.row_shape}, not (3, S, S)"
        self.rows = rows
        self.present = present
        self._owned = owned  # the temporary folder the rows are in, removed on close

    @property
    def size(self) -> int:
        return int(self.rows.row_shape[-1])

    def __len__(self) -> int:
        return len(self.rows)

    @staticmethod
    def exists(path: Path) -> bool:
        return RowFile.exists(path) and path.with_name(path.name + _MASK).is_file()

    @classmethod
    def open(cls, path: Path) -> TablePixels:
        return cls(RowFile.open(path), np.load(path.with_name(path.name + _MASK), allow_pickle=False))

    @classmethod
    def write(
        cls,
        path: Path | None,
        row_shape: tuple[int, int, int],
        blocks: Iterable[tuple[np.ndarray, np.ndarray]],
    ) -> TablePixels:
        """Append each block's (n, 3, S, S) pixels and (n,) mask; ``path`` None: a temporary folder.
        The mask is saved before the rows' header, so a half-written entry is never opened."""
        owned = None
        if path is None:
            owned = tempfile.TemporaryDirectory(prefix="scout-pixels-")
            path = Path(owned.name) / "pixels"
        masks: list[np.ndarray] = []
        with RowFile.create(path, row_shape, np.uint8) as out:
            for pixels, present in blocks:
                out.append(pixels)
                masks.append(present)
            mask = np.concatenate(masks) if masks else np.zeros(0, dtype=bool)
            tmp = path.with_name(path.name + ".present.tmp.npy")
            np.save(tmp, mask, allow_pickle=False)
            tmp.replace(path.with_name(path.name + _MASK))
        return cls(RowFile.open(path), mask, owned)

    def close(self) -> None:
        self.rows.close()
        if self._owned is not None:
            self._owned.cleanup()
            self._owned = None

    def __enter__(self) -> TablePixels:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
