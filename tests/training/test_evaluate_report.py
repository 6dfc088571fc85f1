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


def test_single_split_targets_say_they_have_no_interval() -> None:
    found = {t["name"]: t for t in targets({"results": _results(0.90, 0.80, 0.85, 0.70, 0.88)})}
    assert len(found) == 3
    mean_gap, spark_gap, modal_gap = found.values()
    assert mean_gap["value"] == pytest.approx(10.0) and mean_gap["status"] == "met on one split only"
    assert spark_gap["value"] == pytest.approx(5.0) and spark_gap["low"] is None
    assert modal_gap["value"] == pytest.approx(2.0) and modal_gap["status"] == "not met"


def _cross_validation() -> dict:
    from training.crossval import summarise

    scores = {
        "profiler/multimodal": {"macro_f1": [0.97, 0.99, 0.96, 0.98], "accuracy": [0.97, 0.99, 0.96, 0.98]},
        "mean_mlp/multimodal": {"macro_f1": [0.96, 0.99, 0.95, 0.98], "accuracy": [0.96, 0.99, 0.95, 0.98]},
        "spark_lr/multimodal": {"macro_f1": [0.90, 0.93, 0.89, 0.91], "accuracy": [0.90, 0.93, 0.89, 0.91]},
        "profiler/text": {"macro_f1": [0.75, 0.78, 0.74, 0.77], "accuracy": [0.75, 0.78, 0.74, 0.77]},
    }
    return {**summarise(scores, 4, 0), "fold_sizes": [{"test": 25}] * 4}


def test_fold_targets_are_met_only_where_the_interval_clears_the_bar() -> None:
    found = {t["name"].split(" (")[0]: t for t in targets({"cross_validation": _cross_validation()})}
    mean = found["profiler - mean pooling of h + mlp"]
    assert mean["value"] == pytest.approx(0.5) and mean["low"] < 0 < mean["high"]
    assert mean["status"] == "not met", "an interval wholly below 5 points"
    assert found["profiler - best Spark ML baseline"]["status"] == "met"
    assert found["multimodal - best single modality of the profiler"]["status"] == "met"


def test_report_files(tmp_path: Path) -> None:
    cv = _cross_validation()
    model = {
        "influencers": 3,
        "accuracy": 0.9,
        "macro_f1": 0.9,
        "per_category_f1": {"a": 0.9},
        "post_accuracy": 0.7,
        "post_accuracy_basis": "true post topic",
        "posts": 10,
        "prefixes": [
            {
                "prefix": "3",
                "influencers": 3,
                "mean_posts": 3.0,
                "accuracy": 0.5,
                "confidence_raw": 0.99,
                "confidence_calibrated": 0.6,
                "ece_raw": 0.49,
                "ece_calibrated": 0.1,
                "temperature": 2.0,
            },
        ],  # fmt: skip
        "calibration_error": {"ece_raw": 0.3, "ece_calibrated": 0.05, "pairs": 15},
    }
    metrics = {
        "dataset": {
            "name": "w",
            "influencers": 10,
            "posts": 100,
            "split": {"test": 3},
            "split_source": "world.json",
            "not_held_out": ["no validation influencer for 1 of 9 categories"],
        },
        "cross_validation": cv,
        "model": model,
        "calibration": {
            "kind": "temperature_by_log_post_count",
            "log_t0": 0.5,
            "slope": -0.1,
            "fitted_on": 40,
        },
        "targets": targets({"cross_validation": cv}),
        "commands": ["scout train w --out m"],
    }
    write_report(tmp_path, metrics)
    confusion_png([[3, 1], [0, 2]], ("a", "b"), tmp_path / "confusion.png", "test")
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["cross_validation"]["methods"]["profiler/text"]["macro_f1"]["per_fold"][0] == 0.75
    text = (tmp_path / "report.md").read_text()
    assert "| Post-attentive profiler | 97.5 ± 2.1 / 97.5 ± 2.1 | 76.0 ± 2.9 / 76.0 ± 2.9 | — |" in text
    assert "| Mean pooling of h + MLP (multimodal) | +0.5 [-0.4, +1.4] | not told apart |" in text
    assert "Spark ML LogisticRegression (multimodal) | +6.7 [+6.0, +7.5] | beats |" in text
    assert "| 3 | 3 | 3.0 | 50.0 | 99.0 → 60.0 | 49.0 → 10.0 |" in text
    assert "30.0% → 5.0%" in text and "Not held out: no validation influencer" in text
    assert "not met" in text and "scout train w --out m" in text
    assert (tmp_path / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert markdown(metrics) == text
