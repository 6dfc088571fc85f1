"""A profiler trained from the feature store, batch by batch, equals one trained on the in-memory
features of the same world: same seed, same split, the same weights within tolerance and the same
held-out predictions; so does the sponsored-post head, trained on the store's own flags, and its
evaluation. And `scout train --features` / `scout evaluate --features` run end to end, the head
included, the evaluation's Spark ML baselines on a standalone cluster."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from streaming.cli import app
from training.bags import post_rows
from training.model_dir import load_model
from training.pipeline import prepare_from_store
from training.sponsorship.evaluate import evaluate_sponsorship
from training.sponsorship.rows import over_rows
from training.sponsorship.train import SponsorTrainConfig, train_beside_profiler
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


def test_the_sponsored_head_from_the_store_equals_the_head_in_memory(
    tiny_store, tiny_world: Path, tiny_prepared, feature_cache: Path
) -> None:
    path, _ = tiny_store
    stored, memory = prepare_from_store(tiny_world, path), tiny_prepared
    config = SponsorTrainConfig(max_epochs=8, patience=8, device="cpu")
    modalities = ("image", "text")
    fits = [
        train_beside_profiler(p, p.features(modalities), str(feature_cache), config) for p in (memory, stored)
    ]
    assert fits[0] is not None and fits[1] is not None
    assert fits[0].summary["train_disclosed"] == fits[1].summary["train_disclosed"] >= 5
    assert fits[0].best_epoch == fits[1].best_epoch
    for name, weight in fits[0].head.state_dict().items():
        torch.testing.assert_close(fits[1].head.state_dict()[name], weight, rtol=1e-3, atol=1e-4)
    c = [fit.head.config.label_frequency for fit in fits]
    assert c[1] == pytest.approx(c[0], abs=1e-3)
    held_out = [
        over_rows(fit.head.probability, p.features(modalities), post_rows(p.bags, p.split["test"]))
        for fit, p in zip(fits, (memory, stored), strict=True)
    ]
    np.testing.assert_allclose(held_out[1], held_out[0], atol=1e-3)
    reports = [
        evaluate_sponsorship(p, fit.head, p.features(modalities), str(feature_cache), resamples=50)
        for fit, p in zip(fits, (memory, stored), strict=True)
    ]
    assert reports[0] is not None and reports[1] is not None
    for view in ("undisclosed", "paid"):
        got = [r[view] for r in reports]
        assert [g["candidates"] for g in got] == [got[0]["candidates"]] * 2 and got[0]["positives"] > 0
        assert got[1]["positives"] == got[0]["positives"] and got[1]["influencers"] == got[0]["influencers"]
        for method in ("head", "has_disclosure", "names_brand"):
            ap = [g["methods"][method]["average_precision"]["mean"] for g in got]
            assert ap[1] == pytest.approx(ap[0], abs=1e-2), (view, method)


def test_scout_train_and_evaluate_read_the_store(
    standalone_cluster, tiny_store, tiny_world: Path, tmp_path: Path
) -> None:
    """`scout train --features` trains the profiler and the head from the store; `scout evaluate
    --features` feeds its Spark ML baselines from it too, and they run where `spark.master` says:
    here a standalone cluster, chosen by configuration alone."""
    path, manifest = tiny_store
    model_dir, report = tmp_path / "model", tmp_path / "report"
    trained = CliRunner().invoke(
        app,
        ["train", str(tiny_world), "--features", str(path), "--out", str(model_dir), "--epochs", "4",
         "--window", "8", "--device", "cpu", "--no-progress"],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    model = load_model(model_dir, device="cpu")
    assert model.feature_dim == manifest.feature_dim and model.modalities == manifest.modalities
    assert model.sponsorship is not None  # the head, trained on the store's flags
    standalone_cluster.run_scout(
        "evaluate", str(tiny_world), "--model", str(model_dir), "--features", str(path), "--out",
        str(report), "--folds", "0", "--no-progress",
    )  # fmt: skip
    assert standalone_cluster.completed_app("influencer-scout-training")["cores"] == 2  # both workers
    assert (report / "report.md").is_file() and (report / "attention.png").is_file()
    metrics = json.loads((report / "metrics.json").read_text())
    for method in ("spark_lr", "spark_rf", "spark_nb"):
        assert 0.0 <= metrics["results"][method]["multimodal"]["accuracy"] <= 1.0, method
    sponsorship = metrics["sponsorship"]
    assert sponsorship["test_posts"] > 0 and sponsorship["undisclosed"]["candidates"] > 0
