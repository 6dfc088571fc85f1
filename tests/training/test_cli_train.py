"""`scout train` and `scout evaluate` end to end on the tiny world (features from the shared cache)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from streaming.cli import app
from training.model_dir import load_model


def test_train_then_evaluate(tiny_world: Path, feature_cache: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    model_dir, report = tmp_path / "model", tmp_path / "report"
    common = ["--cache-dir", str(feature_cache), "--no-progress"]
    result = runner.invoke(
        app,
        [
            "train",
            str(tiny_world),
            "--out",
            str(model_dir),
            "--epochs",
            "6",
            "--cnn-epochs",
            "1",
            "--device",
            "cpu",
            *common,
        ],
    )
    assert result.exit_code == 0, result.output
    model = load_model(model_dir)
    assert f"model {model.version} written" in result.output
    training = json.loads((model_dir / "training.json").read_text())
    assert training["train"]["max_epochs"] == 6 and training["modalities"] == ["image", "text"]
    assert 0.0 <= model.metrics["test"]["macro_f1"] <= 1.0

    result = runner.invoke(
        app,
        [
            "evaluate",
            str(tiny_world),
            "--model",
            str(model_dir),
            "--out",
            str(report),
            "--spark-master",
            "none",
            "--folds",
            "0",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["model_version"] == model.version
    assert set(metrics["results"]) == {"profiler", "mean_mlp", "mean_features_mlp"}
    assert set(metrics["results"]["profiler"]) == {"multimodal", "text", "image"}
    row, trained = metrics["results"]["profiler"]["multimodal"], model.metrics["test"]
    assert (row["accuracy"], row["macro_f1"]) == (trained["accuracy"], trained["macro_f1"]), (
        "the model itself"
    )
    assert metrics["model"]["macro_f1"] == trained["macro_f1"]
    assert [r["prefix"] for r in trained["prefixes"]] == ["1", "3", "10", "30", "all"]
    assert model.calibrated and "ECE" in (report / "report.md").read_text()
    boot = metrics["bootstrap"]
    assert boot["methods"]["profiler/multimodal"]["macro_f1"]["mean"] == trained["macro_f1"]
    assert {d["verdict"] for d in boot["differences"]} <= {"beats", "loses", "not told apart"}
    assert "paired bootstrap" in (report / "report.md").read_text()
    for name in ("report.md", "confusion.png", "attention.png"):
        assert (report / name).stat().st_size > 0
    assert "comparison" in load_model(model_dir).metrics


def test_help_shows_runnable_examples() -> None:
    runner = CliRunner()
    for command in ("train", "evaluate"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and f"Example: scout {command} /tmp/world" in result.output


def test_the_default_image_tower_follows_the_kind_of_copy(tmp_path) -> None:
    from training.cli_train import default_image_backbone
    from training.synth import WorldKnobs
    from training.synth.writer import generate_world

    world = generate_world(
        tmp_path / "w", WorldKnobs(influencers=9, posts=3, seed=1, image_size=16), progress=False
    )
    assert default_image_backbone(world.out) == "compact_cnn"  # a synthetic world: drawn images
    (world.out / "world.json").unlink()
    assert default_image_backbone(world.out) == "mobilenet_v2"  # a copy of real photos
