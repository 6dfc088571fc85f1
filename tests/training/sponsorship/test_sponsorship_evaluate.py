"""Undisclosed-ad detection on a generated world: the head `scout train` writes beats the rule
"has #ad" and a logistic regression on the masked text features, in average precision. The text
baseline reads stored rows as it reads an array, and fits on a bounded sample of a large split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from training.model_dir import load_model
from training.pipeline import FeatureConfig, prepare
from training.report import markdown
from training.rowfile import RowFile
from training.sponsorship.evaluate import (
    average_precision,
    evaluate_sponsorship,
    fit_text_lr,
    precision_recall,
)
from training.sponsorship.report import sponsorship_lines
from training.store.read import StoredFeatures
from training.synth import WorldKnobs
from training.synth.writer import generate_world
from training.train import TrainConfig

# 36 influencers x 40 posts, 32 px; half the styled on-topic posts paid, so the 11 test
# influencers hold a few dozen undisclosed ads.
KNOBS = WorldKnobs(
    influencers=36, posts=40, seed=5, image_size=32, sponsored_share=0.5, split=(0.5, 0.2, 0.3)
)


def test_average_precision_matches_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    scores = np.round(rng.random(200), 1)  # many ties
    positives = rng.random(200) < 0.2
    assert average_precision(scores, positives)[0] == pytest.approx(
        average_precision_score(positives, scores)
    )
    counts = rng.integers(0, 3, size=200)  # a bootstrap's repetitions are sample weights
    expected = average_precision_score(positives, scores, sample_weight=counts)
    assert average_precision(scores, positives, counts[None, :])[0] == pytest.approx(expected)
    assert np.isnan(average_precision(scores, np.zeros(200, bool))[0])
    p, r = precision_recall(scores >= 0.5, positives)
    flagged = scores >= 0.5
    assert p[0] == pytest.approx((flagged & positives).sum() / flagged.sum())
    assert r[0] == pytest.approx((flagged & positives).sum() / positives.sum())


def test_the_text_baseline_reads_stored_rows_and_caps_its_sample(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 2000
    disclosed = rng.random(n) < 0.15
    text = (rng.normal(size=(n, 6)) + np.where(disclosed, 1.0, 0.0)[:, None]).astype(np.float32)
    with RowFile.create(tmp_path / "text", row_shape=(6,), dtype=np.float32) as out:
        out.append(text)
    stored = StoredFeatures(RowFile.open(tmp_path / "text"), slice(0, 6))
    rows = rng.permutation(n)
    train, val = rows[:1600], rows[1600:]
    memory, from_store = (fit_text_lr(t, disclosed, train, val, seed=0) for t in (text, stored))
    np.testing.assert_allclose(from_store.disclosed_probability(text), memory.disclosed_probability(text))
    assert from_store.label_frequency == pytest.approx(memory.label_frequency)
    sampled = fit_text_lr(stored, disclosed, train, val, seed=0, max_posts=400)
    assert sampled.model[0].n_samples_seen_ == 400 and memory.model[0].n_samples_seen_ == 1600
    assert 0.0 < sampled.label_frequency <= 1.0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ads") / "world"
    generate_world(out, KNOBS, progress=False)
    return out


def test_head_beats_the_baselines(
    world: Path, tmp_path: Path, tiny_feature_config: FeatureConfig, tiny_train_config: TrainConfig
) -> None:
    from training.workflow import train_model

    features = tiny_feature_config
    _, metrics = train_model(world, tmp_path / "model", features, tiny_train_config, progress=False)
    assert metrics["sponsorship"]["train_disclosed"] >= 30
    model = load_model(tmp_path / "model", device="cpu")
    assert model.sponsorship is not None
    prep = prepare(world, features, progress=False)
    x = prep.features(model.modalities)
    result = evaluate_sponsorship(prep, model.sponsorship, x, features.cache_dir, resamples=300)
    assert result is not None
    view = result["undisclosed"]
    ap = {name: m["average_precision"]["mean"] for name, m in view["methods"].items()}
    share = view["positives"] / view["candidates"]
    assert view["positives"] >= 15 and view["influencers"] == 11
    assert ap["has_disclosure"] == pytest.approx(share)  # never fires on posts without a disclosure
    assert view["methods"]["has_disclosure"]["recall"]["mean"] == 0.0
    assert ap["head"] > ap["text_lr"] and ap["head"] > ap["has_disclosure"] and ap["head"] > ap["names_brand"]
    assert ap["head"] > 4 * share
    by_baseline = {d["b"]: d for d in view["differences"]}
    assert by_baseline["has_disclosure"]["verdict"] == "beats"
    paid = result["paid"]["methods"]
    assert paid["has_disclosure"]["precision"]["mean"] == 1.0  # every disclosed post is paid
    assert paid["head"]["recall"]["mean"] > paid["has_disclosure"]["recall"]["mean"]
    text = "\n".join(sponsorship_lines(result))
    assert "## Sponsorship: undisclosed paid posts" in text and 'Rule "has #ad"' in text
    report = markdown({"dataset": metrics["dataset"], "sponsorship": result})
    assert "Undisclosed ads among the test posts without a disclosure" in report
