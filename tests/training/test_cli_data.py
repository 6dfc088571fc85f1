"""`scout generate` and `scout dataset check` through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from streaming.cli import app
from training.dataset.check import KEYS

runner = CliRunner()


def test_generate_then_check_json(tmp_path: Path) -> None:
    out = tmp_path / "world"
    result = runner.invoke(
        app,
        [
            "generate",
            str(out),
            "--influencers",
            "10",
            "--posts",
            "20",
            "--seed",
            "7",
            "--image-size",
            "16",
            "--defects",
            "0.1",
            "--knob",
            "on_topic_share=0.3,0.6",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 10 influencers, 200 posts" in result.output
    assert "split train 7, val 2, test 1" in result.output

    checked = runner.invoke(app, ["dataset", "check", str(out), "--json"])
    assert checked.exit_code == 0, checked.output
    report = json.loads(checked.stdout)
    assert list(report)[: len(KEYS)] == list(KEYS)  # the --json contract leads, in its order
    meta = json.loads((out / "world.json").read_text())
    assert meta["knobs"]["on_topic_share"] == [0.3, 0.6]
    assert report["influencers"] == 10 and sum(report["by_category"].values()) == 10
    assert report["posts_missing_metadata"] == len(meta["defects"]["missing_metadata"])
    assert report["posts"] == 200 - report["posts_missing_metadata"]
    assert report["images_missing"] == len(meta["defects"]["missing_images"])
    assert report["duplicate_mapping_rows"] == len(meta["defects"]["duplicate_rows"])
    assert report["label_fixes"] == {"fasion": "fashion", "pets": "pet"}
    assert report["world"]["split"] == {"train": 7, "val": 2, "test": 1}

    text = runner.invoke(app, ["dataset", "check", str(out), "--quick"])
    assert text.exit_code == 0 and "label fixes: fasion -> fashion, pets -> pet" in text.stdout


def test_errors_exit_non_zero(tmp_path: Path) -> None:
    bad_knob = runner.invoke(app, ["generate", str(tmp_path / "w"), "--knob", "nope=1"])
    assert bad_knob.exit_code == 2 and "unknown world knobs" in bad_knob.output
    out_of_range = runner.invoke(app, ["generate", str(tmp_path / "w"), "--drift-share", "2"])
    assert out_of_range.exit_code == 2 and "drift_share" in out_of_range.output
    missing = runner.invoke(app, ["dataset", "check", str(tmp_path / "absent")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
