"""The sponsored-post head: its positive-unlabelled calibration, its training from rows read a batch
at a time (an array in memory and a row file on disk train the same head), and its place in the
model folder (save -> load gives the same probabilities; the version follows it; folders without it
load)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from training.errors import ModelFormatError
from training.model_dir import ModelParts, load_model, save_model
from training.rowfile import RowFile
from training.sponsorship.head import SponsoredHead, SponsoredHeadConfig, undisclosed_from_disclosed
from training.sponsorship.rows import over_rows
from training.sponsorship.train import SponsorTrainConfig, fit_sponsored_head
from training.store.read import StoredFeatures


def _random_head(feature_dim: int, c: float, seed: int = 0) -> SponsoredHead:
    torch.manual_seed(seed)
    head = SponsoredHead(SponsoredHeadConfig(feature_dim, hidden_dim=16, label_frequency=c))
    gen = torch.Generator().manual_seed(seed + 1)
    head.set_feature_stats(
        torch.randn(feature_dim, generator=gen) * 0.1, torch.rand(feature_dim, generator=gen) + 0.5
    )
    return head.eval()


def test_model_folder_round_trip(tiny_parts: ModelParts, tmp_path: Path) -> None:
    dim = tiny_parts.profiler.config.feature_dim
    head = _random_head(dim, 0.4)
    without = save_model(tmp_path / "plain", tiny_parts)
    version = save_model(
        tmp_path / "with", replace(tiny_parts, sponsorship=head, sponsorship_training={"n": 3})
    )
    names = {p.name for p in (tmp_path / "with").iterdir()}
    assert {"sponsorship.json", "sponsorship.safetensors"} <= names
    assert (
        json.loads((tmp_path / "with" / "sponsorship.json").read_text())["config"]["label_frequency"] == 0.4
    )
    model = load_model(tmp_path / "with", device="cpu")
    assert model.version == version != without
    features = np.random.default_rng(0).normal(size=(9, dim)).astype(np.float32)
    got = model.sponsorship.probability(features)
    assert got.dtype == np.float32 and got.shape == (9,) and np.all((got >= 0) & (got <= 1))
    np.testing.assert_allclose(got, head.probability(features), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        model.sponsorship.undisclosed_probability(features), head.undisclosed_probability(features), atol=1e-7
    )
    assert load_model(tmp_path / "plain", device="cpu").sponsorship is None
    other = save_model(tmp_path / "other", replace(tiny_parts, sponsorship=_random_head(dim, 0.5)))
    assert other not in (version, without)
    # saving a model without the head over a folder with one removes it, and the version goes back
    assert save_model(tmp_path / "with", tiny_parts) == without
    assert not (tmp_path / "with" / "sponsorship.json").exists()


def test_a_head_for_other_features_is_refused(tiny_parts: ModelParts, tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="sponsored head reads"):
        replace(tiny_parts, sponsorship=_random_head(7, 0.5))
    folder = tmp_path / "m"
    save_model(
        folder, replace(tiny_parts, sponsorship=_random_head(tiny_parts.profiler.config.feature_dim, 0.5))
    )
    (folder / "sponsorship.safetensors").unlink()
    with pytest.raises(ModelFormatError):
        load_model(folder, device="cpu")


def test_label_frequency_undoes_the_missing_labels() -> None:
    """Two Gaussian classes; half of the positives are labelled, at random. The head trained on
    labelled vs the rest estimates c near 0.5 and, through it, P(positive) for every post."""
    rng = np.random.default_rng(3)
    n = 3000
    positive = rng.random(n) < 0.3
    features = rng.normal(size=(n, 4)).astype(np.float32) + np.where(positive, 2.5, -2.5)[:, None]
    labelled = positive & (rng.random(n) < 0.5)
    rows = rng.permutation(n)
    fit = fit_sponsored_head(features, labelled, rows[:2000], rows[2000:], SponsorTrainConfig(device="cpu"))
    assert fit is not None and fit.summary["label_frequency_from"] == "validation"
    assert abs(fit.head.config.label_frequency - 0.5) < 0.1
    p = fit.head.probability(features[rows[2000:]])
    truth = positive[rows[2000:]]
    assert p[truth].mean() > 0.8 and p[~truth].mean() < 0.1  # the raw g would say ~0.5 for positives
    unlabelled = ~labelled[rows[2000:]]
    w = fit.head.undisclosed_probability(features[rows[2000:]][unlabelled])
    assert w[truth[unlabelled]].mean() > 0.8 and w[~truth[unlabelled]].mean() < 0.1


def test_a_head_from_stored_rows_equals_the_head_from_the_array(tmp_path: Path) -> None:
    """The same rows, once an array in memory and once a row file read a batch at a time (the
    columns of one block, as a store's text block is read), train the same head."""
    rng = np.random.default_rng(7)
    n = 2400
    positive = rng.random(n) < 0.2
    whole = rng.normal(size=(n, 9)).astype(np.float32)
    whole[:, 3:] += np.where(positive, 1.5, -1.5)[:, None]
    labelled = positive & (rng.random(n) < 0.6)
    with RowFile.create(tmp_path / "features", row_shape=(9,), dtype=np.float32) as out:
        out.append(whole)
    stored = StoredFeatures(RowFile.open(tmp_path / "features"), slice(3, 9))
    rows = rng.permutation(n)
    train, val, test = rows[:1600], rows[1600:2000], rows[2000:]
    config = SponsorTrainConfig(max_epochs=6, patience=6, device="cpu")
    fits = [fit_sponsored_head(x, labelled, train, val, config) for x in (whole[:, 3:], stored)]
    assert fits[0] is not None and fits[1] is not None
    assert fits[0].best_epoch == fits[1].best_epoch
    for name, weight in fits[0].head.state_dict().items():
        torch.testing.assert_close(fits[1].head.state_dict()[name], weight, rtol=1e-4, atol=1e-5)
    assert fits[1].head.config.label_frequency == pytest.approx(fits[0].head.config.label_frequency, abs=1e-5)
    held_out = [
        over_rows(f.head.probability, x, test, chunk=150)
        for f, x in zip(fits, (whole[:, 3:], stored), strict=True)
    ]
    np.testing.assert_allclose(held_out[1], held_out[0], atol=1e-5)
    np.testing.assert_allclose(held_out[0], fits[0].head.probability(whole[test, 3:]), atol=1e-6)


def test_too_few_positives_train_no_head() -> None:
    features = np.zeros((50, 3), np.float32)
    labelled = np.zeros(50, bool)
    labelled[:2] = True
    assert fit_sponsored_head(features, labelled, np.arange(40), np.arange(40, 50)) is None


def test_undisclosed_probability_is_elkan_noto_weight() -> None:
    g = np.array([0.0, 0.1, 0.3, 0.5])
    np.testing.assert_allclose(undisclosed_from_disclosed(g, 0.5), [0.0, 1 / 9, 3 / 7, 1.0])
