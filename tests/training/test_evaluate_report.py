"""Metrics on known inputs, the targets, and the written report (metrics.json, markdown, PNGs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from training.evaluate import influencer_metrics
from training.report import confusion_png, markdown, targets, write_report

CATS = ("a", "b", "c")


def test_influencer_metrics_on_known_predictions() -> None:
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0])
    m = influencer_metrics(y_true, y_pred, CATS)
    assert m["accuracy"] == pytest.approx(4 / 6)
    # a: P=1/2 R=1/2 -> 0.5; b: P=2/3 R=1 -> 0.8; c: P=1 R=1/2 -> 2/3
    assert m["per_category_f1"] == pytest.approx({"a": 0.5, "b": 0.8, "c": 2 / 3})
    assert m["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert m["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_macro_f1_covers_only_categories_present_in_the_test_split() -> None:
    m = influencer_metrics(np.array([0, 0, 1]), np.array([0, 0, 1]), CATS)
    assert m["macro_f1"] == 1.0 and set(m["per_category_f1"]) == {"a", "b"}


def _results(profiler: float, mean: float, spark: float, text: float, image: float) -> dict:
    def r(f1: float) -> dict:
        return {"accuracy": f1, "macro_f1": f1, "per_category_f1": {"a": f1}, "confusion": [[1]]}

    prof = {"multimodal": r(profiler), "text": r(text), "image": r(image)}
    prof["multimodal"].update(post_accuracy=0.7, post_accuracy_basis="true post topic", posts=10)
    return {"profiler": prof, "mean_mlp": {"multimodal": r(mean)}, "spark_lr": {"multimodal": r(spark)}}


def test_targets_are_reported_in_macro_f1_points() -> None:
    found = {t["name"]: t for t in targets(_results(0.90, 0.80, 0.85, 0.70, 0.88))}
    assert len(found) == 3
    mean_gap, spark_gap, modal_gap = found.values()
    assert mean_gap["value"] == pytest.approx(10.0) and mean_gap["met"]
    assert spark_gap["value"] == pytest.approx(5.0) and spark_gap["met"]
    assert modal_gap["value"] == pytest.approx(2.0) and not modal_gap["met"]


def test_report_files(tmp_path: Path) -> None:
    results = _results(0.9, 0.8, 0.85, 0.7, 0.88)
    metrics = {
        "dataset": {
            "name": "w",
            "influencers": 10,
            "posts": 100,
            "split": {"test": 3},
            "split_source": "world.json",
        },
        "results": results,
        "targets": targets(results),
        "commands": ["scout train w --out m"],
    }
    write_report(tmp_path, metrics)
    confusion_png([[3, 1], [0, 2]], ("a", "b"), tmp_path / "confusion.png", "test")
    assert (
        json.loads((tmp_path / "metrics.json").read_text())["results"]["profiler"]["text"]["macro_f1"] == 0.7
    )
    text = (tmp_path / "report.md").read_text()
    assert "| Post-attentive profiler | 90.0 / 90.0 | 70.0 / 70.0 | 88.0 / 88.0 |" in text
    assert "| Mean pooling of h + MLP | 80.0 / 80.0 | — | — |" in text
    assert "NOT met" in text and "scout train w --out m" in text
    assert (tmp_path / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert markdown(metrics) == text
