"""RowFile: rows written block by block come back as written, in any order asked."""

from __future__ import annotations

import numpy as np
import pytest

from training.errors import DatasetError
from training.rowfile import RowFile


def test_rows_round_trip_in_any_order(tmp_path):
    rng = np.random.default_rng(0)
    whole = rng.normal(size=(1000, 7)).astype(np.float32)
    with RowFile.create(tmp_path / "f", row_shape=(7,), dtype=np.float32) as out:
        for start in range(0, 1000, 333):
            out.append(whole[start : start + 333])
    rows = RowFile.open(tmp_path / "f")
    assert len(rows) == 1000 and rows.row_shape == (7,)
    np.testing.assert_array_equal(rows.read(0, 1000), whole)
    for gap in (0, 1, 32, 5000):
        asked = rng.integers(0, 1000, size=300)  # repeats and any order
        np.testing.assert_array_equal(rows.take(asked, gap=gap), whole[asked])
    assert rows.take(np.zeros(0, np.int64)).shape == (0, 7)


def test_image_rows_keep_their_shape_and_dtype(tmp_path):
    pixels = np.arange(5 * 3 * 4 * 4, dtype=np.uint8).reshape(5, 3, 4, 4)
    with RowFile.create(tmp_path / "p", row_shape=(3, 4, 4), dtype=np.uint8) as out:
        out.append(pixels)
    back = RowFile.open(tmp_path / "p").take(np.array([4, 0]))
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, pixels[[4, 0]])


def test_a_truncated_or_missing_file_is_a_named_error(tmp_path):
    with pytest.raises(DatasetError, match="no row file"):
        RowFile.open(tmp_path / "none")
    with RowFile.create(tmp_path / "t", row_shape=(2,), dtype=np.float32) as out:
        out.append(np.ones((4, 2), np.float32))
    data = tmp_path / "t.rows"
    data.write_bytes(data.read_bytes()[:-4])
    with pytest.raises(DatasetError, match="header says 4 rows"):
        RowFile.open(tmp_path / "t")


def test_a_failed_write_leaves_no_file(tmp_path):
    with pytest.raises(RuntimeError), RowFile.create(tmp_path / "x", (2,), np.float32) as out:
        out.append(np.ones((1, 2), np.float32))
        raise RuntimeError("stop")
    assert not RowFile.exists(tmp_path / "x") and not list(tmp_path.iterdir())
