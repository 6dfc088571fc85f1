"""A model folder's model.json, read and checked without torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from training.errors import ModelFormatError
from training.model_meta import FORMAT, FORMAT_VERSION, read_model_meta


def test_reads_a_model_json_of_this_format(tmp_path: Path) -> None:
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "version": "abc", "modalities": ["text"]}
    (tmp_path / "model.json").write_text(json.dumps(meta))
    assert read_model_meta(tmp_path) == meta


def test_another_format_is_a_named_error(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text(json.dumps({"format": FORMAT, "format_version": FORMAT_VERSION + 1}))
    with pytest.raises(ModelFormatError, match="retrain"):
        read_model_meta(tmp_path)


def test_a_folder_without_model_json_is_a_named_error(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError, match="lacks model.json"):
        read_model_meta(tmp_path)


def test_the_feature_store_driver_imports_no_torch() -> None:
    """The Spark driver of `scout features --model` names the model without loading torch (~0.5 GiB)."""
    probe = "import sys, training.cli_features, training.store.write; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
