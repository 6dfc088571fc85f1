"""Mean-pooling baselines: the non-negative scaling NaiveBayes needs, and the Spark ML models on the
tiny world's features (same held-out influencers as the profiler)."""

from __future__ import annotations

import numpy as np
import pytest

from training.bags import IGNORE, InfluencerBags
from training.baselines import SparkMLConfig, mean_pool, min_max_nonnegative, spark_baseline_predictions
from training.pipeline import Prepared


def test_min_max_uses_the_training_range_and_clips_the_rest() -> None:
    train = np.array([[-1.0, 5.0], [1.0, 5.0]])
    test = np.array([[0.0, 7.0], [3.0, 5.0]])
    scaled_train, scaled_test = min_max_nonnegative(train, test)
    assert scaled_train.tolist() == [[0.0, 0.0], [1.0, 0.0]]
    assert scaled_test.tolist() == [[0.5, 1.0], [1.0, 0.0]], (
        "clipped into [0, 1]; constant column stays finite"
    )


def test_mean_pool_averages_each_bag() -> None:
    bags = InfluencerBags(
        ("a", "b"), np.array([0, 1]), np.array([0, 2]), np.array([2, 5]), np.full(5, IGNORE)
    )
    features = np.arange(10, dtype=np.float32).reshape(5, 2)
    assert mean_pool(features, bags, np.array([1, 0])).tolist() == [[6.0, 7.0], [1.0, 2.0]]


@pytest.mark.integration
def test_spark_ml_baselines_on_the_tiny_world(spark, tiny_prepared: Prepared) -> None:
    prep = tiny_prepared
    features = prep.features(("image", "text"))
    fit_idx = np.concatenate([prep.split["train"], prep.split["val"]])
    test_idx = prep.split["test"]
    small = SparkMLConfig(lr_max_iter=30, rf_trees=10, rf_depth=4)
    predictions = spark_baseline_predictions(spark, features, prep.bags, fit_idx, test_idx, config=small)
    assert set(predictions) == {"logistic_regression", "random_forest", "naive_bayes"}
    for labels in predictions.values():
        assert labels.shape == (len(test_idx),) and labels.min() >= 0 and labels.max() < 9
    # the models fit their training influencers well above chance (1/9)
    train_pred = spark_baseline_predictions(
        spark, features, prep.bags, fit_idx, fit_idx, ["logistic_regression"], config=small
    )
    assert np.mean(train_pred["logistic_regression"] == prep.bags.labels[fit_idx]) > 0.5
