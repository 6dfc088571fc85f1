"""Calibration math: ECE on a known case, the fit recovering a known post-count temperature, and the
model folder applying it (and versioning it) where probabilities are produced."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from training.calibration import (
    Calibration,
    expected_calibration_error,
    fit_calibration,
    load_calibration,
    save_calibration,
    softmax,
)
from training.model_dir import ModelParts, load_model, save_model


def test_ece_on_a_known_case() -> None:
    # 4 influencers at confidence 0.9 (3 right: accuracy 0.75), 2 at 0.6 (both right)
    probs = np.array([[0.9, 0.1]] * 4 + [[0.6, 0.4]] * 2)
    labels = np.array([0, 0, 0, 1, 0, 0])
    expected = 4 / 6 * abs(0.75 - 0.9) + 2 / 6 * abs(1.0 - 0.6)
    assert expected_calibration_error(probs, labels, bins=10) == pytest.approx(expected)
    assert expected_calibration_error(np.array([[1.0, 0.0]]), np.array([0]), bins=10) == 0.0


def test_the_fit_recovers_a_known_post_count_temperature() -> None:
    rng = np.random.default_rng(0)
    truth = Calibration(log_t0=1.0, slope=-0.4)  # overconfident on few posts, less so on many
    counts = rng.choice([1, 3, 10, 30, 100], size=6000)
    logits = rng.normal(0, 3, (6000, 5))
    p = truth.probabilities(logits, counts)
    labels = np.array([rng.choice(5, p=row) for row in p])
    fitted = fit_calibration(logits, labels, counts)
    assert fitted.log_t0 == pytest.approx(1.0, abs=0.1) and fitted.slope == pytest.approx(-0.4, abs=0.05)
    assert fitted.fitted_on == 6000
    raw, calibrated = softmax(logits), fitted.probabilities(logits, counts)
    assert np.array_equal(raw.argmax(1), calibrated.argmax(1)), "calibration never reorders categories"
    assert expected_calibration_error(calibrated, labels) < expected_calibration_error(raw, labels) / 2


def test_one_post_count_fits_a_plain_temperature() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, (4000, 3))
    labels = np.array([rng.choice(3, p=row) for row in softmax(logits / 2.0)])
    fitted = fit_calibration(logits, labels, np.full(4000, 7))
    assert fitted.slope == 0.0 and np.exp(fitted.log_t0) == pytest.approx(2.0, rel=0.1)


def test_model_folder_applies_and_versions_its_calibration(tmp_path: Path, tiny_parts: ModelParts) -> None:
    plain = save_model(tmp_path / "plain", tiny_parts)
    cal = Calibration(log_t0=0.7, slope=-0.2, fitted_on=10)
    tempered = save_model(tmp_path / "cal", ModelParts(**{**tiny_parts.__dict__, "calibration": cal}))
    assert tempered != plain, "the calibration is part of the version"
    assert load_calibration(tmp_path / "cal") == cal and load_calibration(tmp_path / "plain") is None
    model, bare = load_model(tmp_path / "cal", "cpu"), load_model(tmp_path / "plain", "cpu")
    assert model.calibrated and not bare.calibrated
    e = np.random.default_rng(2).normal(0, 1, (3, model.hidden_dim)).astype(np.float32)
    counts = np.array([1, 3, 30])
    with torch.no_grad():
        logits = tiny_parts.profiler.classify(torch.from_numpy(e)).numpy()
    np.testing.assert_allclose(model.classify(e, counts), cal.probabilities(logits, counts), atol=1e-6)
    np.testing.assert_allclose(model.classify(e), bare.classify(e, counts), atol=1e-6)
    save_calibration(tmp_path, cal)
    assert load_calibration(tmp_path) == cal
