"""A two-dimensional array kept on disk, written block by block and read a few rows at a time.

Training at the public dataset's size (10 M posts) cannot hold every post's features or pixels in
memory. A ``RowFile`` is the array's rows packed one after another in a flat file (``NAME.rows``)
beside a small JSON header (``NAME.json``: dtype, row shape, row count). Rows are read with
``os.pread`` into buffers this process owns, so what a read costs in memory is the rows asked for:
the file's pages stay in the kernel's page cache, outside the process's resident set, however many
epochs read them.

    with RowFile.create(path, row_shape=(F,), dtype=np.float32) as out:
        out.append(block)                  # (n, F), any number of times
    rows = RowFile.open(path)
    batch = rows.take(np.array([5, 6, 7, 90]))   # (4, F), in the order asked

``take`` reads runs of nearby rows in one call each (a gap of up to ``gap`` rows is read and dropped),
so the windows of a bag of posts cost one read per bag rather than one per post.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from training.errors import DatasetError

_HEADER = ".json"
_DATA = ".rows"


@dataclass(frozen=True)
class RowHeader:
    dtype: str  # numpy dtype string, e.g. "<f4"
    row_shape: tuple[int, ...]
    rows: int

    @property
    def row_bytes(self) -> int:
        return int(np.dtype(self.dtype).itemsize * int(np.prod(self.row_shape, dtype=np.int64)))


class RowWriter:
    """Appends blocks of rows to a new row file; the header is written on ``close``."""

    def __init__(self, path: Path, row_shape: tuple[int, ...], dtype: Any) -> None:
        self.path = path
        self.row_shape = tuple(int(d) for d in row_shape)
        self.dtype = np.dtype(dtype)
        self.rows = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = path.with_name(path.name + _DATA + ".tmp")
        self._file = self._tmp.open("wb")

    def append(self, block: np.ndarray) -> None:
        assert block.shape[1:] == self.row_shape, f"rows must be {self.row_shape}, got {block.shape[1:]}"
        self._file.write(np.ascontiguousarray(block, dtype=self.dtype).tobytes())
        self.rows += block.shape[0]

    def close(self) -> RowFile:
        self._file.close()
        self._tmp.replace(self.path.with_name(self.path.name + _DATA))
        header = RowHeader(self.dtype.str, self.row_shape, self.rows)
        data = {"dtype": header.dtype, "row_shape": list(header.row_shape), "rows": header.rows}
        self.path.with_name(self.path.name + _HEADER).write_text(json.dumps(data) + "\n")
        return RowFile.open(self.path)

    def __enter__(self) -> RowWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            self._file.close()
            self._tmp.unlink(missing_ok=True)


class RowFile:
    """Read access to a row file written by ``RowWriter``."""

    def __init__(self, path: Path, header: RowHeader) -> None:
        self.path = path
        self.header = header
        self._fd = os.open(path.with_name(path.name + _DATA), os.O_RDONLY)

    @staticmethod
    def create(path: str | Path, row_shape: tuple[int, ...], dtype: Any) -> RowWriter:
        return RowWriter(Path(path), row_shape, dtype)

    @staticmethod
    def exists(path: str | Path) -> bool:
        path = Path(path)
        return path.with_name(path.name + _HEADER).is_file() and path.with_name(path.name + _DATA).is_file()

    @classmethod
    def open(cls, path: str | Path) -> RowFile:
        path = Path(path)
        if not cls.exists(path):
            raise DatasetError(f"no row file at {path} (expected {path.name}{_HEADER} and {path.name}{_DATA})")
        data = json.loads(path.with_name(path.name + _HEADER).read_text())
        header = RowHeader(str(data["dtype"]), tuple(int(d) for d in data["row_shape"]), int(data["rows"]))
        size = os.path.getsize(path.with_name(path.name + _DATA))
        if size != header.rows * header.row_bytes:
            raise DatasetError(f"{path}{_DATA} holds {size} bytes, its header says {header.rows} rows")
        return cls(path, header)

    def __len__(self) -> int:
        return self.header.rows

    @property
    def row_shape(self) -> tuple[int, ...]:
        return self.header.row_shape

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.header.dtype)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) as a new array."""
        assert 0 <= start <= stop <= len(self), f"rows [{start}, {stop}) outside 0..{len(self)}"
        size = self.header.row_bytes
        buffer = bytearray((stop - start) * size)
        view, done = memoryview(buffer), 0
        while done < len(buffer):  # pread may return less than asked
            got = os.preadv(self._fd, [view[done:]], start * size + done)
            if got == 0:
                raise DatasetError(f"{self.path}{_DATA} ended early at row {start + done // size}")
            done += got
        return np.frombuffer(buffer, dtype=self.dtype).reshape((stop - start, *self.row_shape))

    def take(self, rows: np.ndarray, gap: int = 32) -> np.ndarray:
        """The given rows (any order, repeats allowed) as (len(rows), *row_shape)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((len(rows), *self.row_shape), dtype=self.dtype)
        if not len(rows):
            return out
        order = np.argsort(rows, kind="stable")
        ordered = rows[order]
        breaks = np.flatnonzero(np.diff(ordered) > gap) + 1
        for run in np.split(np.arange(len(ordered)), breaks):
            first, last = int(ordered[run[0]]), int(ordered[run[-1]])
            span = self.read(first, last + 1)
            out[order[run]] = span[ordered[run] - first]
        return out

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()
