"""A profiler trained from the feature store, batch by batch, equals one trained on the in-memory
features of the same world: same seed, same split, the same weights within tolerance and the same
held-out predictions. And `scout train --features` / `scout evaluate --features` run end to end."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from streaming.cli import app
from training.model_dir import load_model
from training.pipeline import prepare_from_store
from training.train import fit_profiler, predict_bags

pytestmark = pytest.mark.integration


def test_training_from_the_store_equals_training_in_memory(
    tiny_store, tiny_world: Path, tiny_prepared, tiny_train_config
) -> None:
    path, _ = tiny_store
    stored = prepare_from_store(tiny_world, path)
    memory = tiny_prepared
    assert stored.bags.names == memory.bags.names
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(stored.split[part], memory.split[part])
    np.testing.assert_array_equal(stored.bags.counts(), memory.bags.counts())
    config = replace(tiny_train_config, max_epochs=6, patience=6)
    modalities = ("image", "text")
    fits = [
        fit_profiler(p.features(modalities), p.bags, p.split["train"], p.split["val"], config, progress=False)
        for p in (memory, stored)
    ]
    assert fits[0].best_epoch == fits[1].best_epoch
    for name, weight in fits[0].profiler.state_dict().items():
        torch.testing.assert_close(fits[1].profiler.state_dict()[name], weight, rtol=1e-3, atol=1e-4)
    held_out = [
        predict_bags(fit.profiler, p.features(modalities), p.bags, p.split["test"], device="cpu")
        for fit, p in zip(fits, (memory, stored), strict=True)
    ]
    np.testing.assert_array_equal(held_out[0].probs.argmax(1), held_out[1].probs.argmax(1))
    np.testing.assert_allclose(held_out[0].probs, held_out[1].probs, atol=1e-3)


def test_scout_train_and_evaluate_read_the_store(tiny_store, tiny_world: Path, tmp_path: Path) -> None:
    path, manifest = tiny_store
    runner = CliRunner()
    model_dir, report = tmp_path / "model", tmp_path / "report"
    trained = runner.invoke(
        app,
        ["train", str(tiny_world), "--features", str(path), "--out", str(model_dir), "--epochs", "4",
         "--window", "8", "--device", "cpu", "--no-progress"],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    model = load_model(model_dir, device="cpu")
    assert model.feature_dim == manifest.feature_dim and model.modalities == manifest.modalities
    evaluated = runner.invoke(
        app,
        ["evaluate", str(tiny_world), "--model", str(model_dir), "--features", str(path), "--out",
         str(report), "--folds", "0", "--spark-master", "none", "--no-progress"],
    )  # fmt: skip
    assert evaluated.exit_code == 0, evaluated.output
    assert (report / "report.md").is_file() and (report / "attention.png").is_file()
