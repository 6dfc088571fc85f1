"""A dataset too small for the usual split (18 influencers, 2 per category, no split of its own, as
a sample of the public dataset is): `scout train` trains and says what it could not hold out, and
`scout evaluate` stops with how many influencers per category its folds need — never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from streaming.cli import app
from training.model_dir import load_model
from training.synth import WorldKnobs
from training.synth.writer import generate_world


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small") / "sample"
    generate_world(out, WorldKnobs(influencers=18, posts=6, seed=5, image_size=32), progress=False)
    (out / "world.json").unlink()  # the public layout: the seeded stratified split applies
    return out


def test_eighteen_influencers_train_and_evaluation_says_what_it_needs(
    small_dataset: Path, feature_cache: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    common = ["--cache-dir", str(feature_cache), "--no-progress"]
    model_dir = tmp_path / "model"
    result = runner.invoke(
        app,
        ["train", str(small_dataset), "--out", str(model_dir), "--epochs", "3", "--cnn-epochs", "1",
         "--device", "cpu", *common],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "not held out: no validation influencer for 9 of 9 categories" in result.output
    assert "a category needs at least 3 influencers for one" in result.output
    model = load_model(model_dir, "cpu")
    assert model.metrics["test"]["influencers"] == 9, "one test influencer per category"
    assert model.metrics["dataset"]["split"] == {"train": 9, "val": 0, "test": 9}
    assert not model.calibrated, "no validation influencers: nothing to calibrate on, and it says so"

    result = runner.invoke(
        app, ["evaluate", str(small_dataset), "--model", str(model_dir), "--out", str(tmp_path / "r"),
              "--spark-master", "none", *common],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "5 folds need at least 5 influencers in every category" in result.output
    assert "use --folds 2 or fewer" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
