"""A copy's fingerprint follows its top-level entries."""

from __future__ import annotations

import os
from pathlib import Path

from training.dataset.fingerprint import dataset_fingerprint


def test_same_copy_same_fingerprint_and_a_change_changes_it(tmp_path: Path) -> None:
    (tmp_path / "info").mkdir()
    data = tmp_path / "mapping.txt"
    data.write_text("a\tb\n")
    first = dataset_fingerprint([tmp_path])
    assert dataset_fingerprint([tmp_path]) == first
    data.write_text("a\tb\nc\td\n")  # another size
    assert dataset_fingerprint([tmp_path]) != first
    second = dataset_fingerprint([tmp_path])
    os.utime(data, ns=(1, 1))  # same size, another time
    assert dataset_fingerprint([tmp_path]) != second


def test_roots_in_any_order_give_one_fingerprint(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("1")
    (b / "y").write_text("2")
    assert dataset_fingerprint([a, b]) == dataset_fingerprint([b, a])
    assert dataset_fingerprint([a]) != dataset_fingerprint([b])
