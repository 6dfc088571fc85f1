"""`scout train --sample-influencers N`: a model folder of a sample, whose encoders then embed the
whole copy with `scout features --model` (a real local SparkSession)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from streaming.cli import app
from training.dataset.reader import open_dataset
from training.encoders.features import collect_posts
from training.model_dir import load_model
from training.store.read import check_model_encoders, open_store
from training.synth.meta import load_world_meta


@pytest.mark.integration
def test_a_sample_trains_the_cnn_that_embeds_the_whole_copy(
    spark: Any, tiny_world: Path, feature_cache: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    model_dir, store = tmp_path / "model-cnn", tmp_path / "store"
    args = ["train", str(tiny_world), "--sample-influencers", "12", "--seed", "2", "--out", str(model_dir)]
    args += ["--epochs", "3", "--cnn-epochs", "1", "--window", "8", "--device", "cpu"]
    result = runner.invoke(app, [*args, "--cache-dir", str(feature_cache), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "trained on a sample of 12 of 36 influencers (seed 2" in result.output
    model = load_model(model_dir)
    sample = model.metrics["dataset"]["sample"]
    assert (sample["influencers"], sample["of"], sample["seed"]) == (12, 36, 2)
    assert sample["split_source"] == "world.json" and sum(sample["split"].values()) == 12
    assert model.metrics["dataset"]["influencers"] == 12
    training = json.loads((model_dir / "training.json").read_text())
    assert training["features"]["sample"] == {"influencers": 12, "seed": 2}
    assert training["features"]["image"]["backbone"] == "compact_cnn"
    assert (model_dir / "image_encoder.safetensors").is_file()
    with open_dataset(tiny_world) as ds:
        posts = collect_posts(ds)
    assert model.metrics["dataset"]["posts"] < len(posts)  # only the sample's posts

    result = runner.invoke(
        app,
        ["features", str(tiny_world), "--out", str(store), "--model", str(model_dir)]
        + ["--device", "cpu", "--buckets", "2"],
    )
    assert result.exit_code == 0, result.output
    opened = open_store(store, [tiny_world])
    assert opened.manifest.posts == len(posts), "every post of the copy, not the sample's"
    assert set(opened.runs) == set(load_world_meta(tiny_world).labels)
    check_model_encoders(opened, model_dir)  # the sample's compact CNN wrote it


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--sample-influencers", "1"], "at least 2"),
        (["--sample-influencers", "37"], "it has 36"),
        (["--sample-influencers", "5", "--features", "nowhere"], "give one of them"),
    ],
)
def test_a_sample_that_cannot_be_drawn_is_refused(
    tiny_world: Path, feature_cache: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    args = ["train", str(tiny_world), "--out", str(tmp_path / "m"), "--cache-dir", str(feature_cache)]
    result = CliRunner().invoke(app, [*args, "--device", "cpu", "--no-progress", *extra])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "m").exists()
