"""A feature store of the tiny world, written once by the Spark job with the tiny model's encoders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from training.encoders.spark_features import EncoderSource
from training.store.manifest import StoreManifest
from training.store.write import write_store


@pytest.fixture(scope="session")
def tiny_store(
    spark: Any, tiny_world: Path, tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, StoreManifest]:
    out = tmp_path_factory.mktemp("store") / "tiny"
    source = EncoderSource(model_dir=str(tiny_model_dir), device="cpu")
    return out, write_store(spark, tiny_world, source, out, buckets=3, batch_size=16)
