"""A model folder's identity (model.json, its format checked), readable without torch.

``training.model_dir`` saves and loads whole models; this is what a process that only needs to know
which model a folder holds (the feature store's Spark driver) reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from training.errors import ModelFormatError

FORMAT = "influencer-scout-model"
FORMAT_VERSION = 1


def read_json(path: Path) -> Any:
    """One JSON file of a model folder (a named error when the folder lacks it)."""
    if not path.is_file():
        raise ModelFormatError(f"model folder {path.parent} lacks {path.name}; write it with `scout train`")
    return json.loads(path.read_text())


def read_model_meta(folder: Path) -> dict[str, Any]:
    """A model folder's model.json (version, labels, modalities, dims), checked for its format."""
    meta = read_json(folder / "model.json")
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"{folder} holds format {meta.get('format')!r} v{meta.get('format_version')}, "
            f"this code reads {FORMAT!r} v{FORMAT_VERSION}; retrain with `scout train`"
        )
    return meta
