"""Baselines on the same features and the same held-out influencers as the profiler.

* Mean pooling + the profiler's MLP: ``TrainConfig(pooling="mean")`` (see training.train).
* Mean pooling + Spark ML LogisticRegression, RandomForest and NaiveBayes (the seed project's
  three): each influencer is the mean of its posts' features.

NaiveBayes (multinomial) needs non-negative features, and text embeddings are signed: every
feature is min-max scaled with the training influencers' minimum and maximum and clipped to
[0, 1] (validation and test values outside the training range are clipped), so a feature acts as a
bounded "intensity". LogisticRegression standardises internally; RandomForest needs no scaling.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from training.bags import InfluencerBags

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

SPARK_MODELS = ("logistic_regression", "random_forest", "naive_bayes")


@dataclass(frozen=True)
class SparkMLConfig:
    lr_max_iter: int = 200
    lr_reg: float = 0.01
    rf_trees: int = 200
    rf_depth: int = 10
    nb_smoothing: float = 1.0
    seed: int = 0


def mean_pool(features: np.ndarray, bags: InfluencerBags, idx: np.ndarray) -> np.ndarray:
    """features (N, F) -> (B, F): each bag's mean post feature."""
    return np.stack([features[bags.starts[i] : bags.ends[i]].mean(axis=0) for i in idx]).astype(np.float64)


def min_max_nonnegative(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Scale every column to [0, 1] with the training rows' range; clip the other sets into it."""
    lo, hi = train.min(axis=0), train.max(axis=0)
    span = np.where(hi - lo > 1e-12, hi - lo, 1.0)
    return [np.clip((x - lo) / span, 0.0, 1.0) for x in (train, *others)]


def _frame(spark: SparkSession, x: np.ndarray, y: np.ndarray) -> DataFrame:
    from pyspark.ml.linalg import Vectors

    rows = [
        (i, float(label), Vectors.dense(vec.tolist()))
        for i, (vec, label) in enumerate(zip(x, y, strict=True))
    ]
    return spark.createDataFrame(rows, ["row", "label", "features"])


def _estimator(name: str, config: SparkMLConfig, num_classes: int):  # noqa: ANN202 (pyspark types)
    from pyspark.ml.classification import LogisticRegression, NaiveBayes, RandomForestClassifier

    if name == "logistic_regression":
        return LogisticRegression(
            maxIter=config.lr_max_iter, regParam=config.lr_reg, family="multinomial", standardization=True
        )
    if name == "random_forest":
        return RandomForestClassifier(numTrees=config.rf_trees, maxDepth=config.rf_depth, seed=config.seed)
    assert name == "naive_bayes", f"unknown Spark ML baseline {name!r}; known: {SPARK_MODELS}"
    return NaiveBayes(modelType="multinomial", smoothing=config.nb_smoothing)


def spark_baseline_predictions(
    spark: SparkSession,
    features: np.ndarray,
    bags: InfluencerBags,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    models: Sequence[str] = SPARK_MODELS,
    config: SparkMLConfig = SparkMLConfig(),
) -> dict[str, np.ndarray]:
    """Fit each Spark ML model on the mean-pooled training influencers; (B_test,) predicted labels.

    ``train_idx`` should hold training and validation influencers (these models have no early
    stopping to spend a validation split on)."""
    x_train = mean_pool(features, bags, train_idx)
    x_test = mean_pool(features, bags, test_idx)
    y_train, y_test = bags.labels[train_idx], bags.labels[test_idx]
    scaled_train, scaled_test = min_max_nonnegative(x_train, x_test)
    out: dict[str, np.ndarray] = {}
    for name in models:
        nonneg = name == "naive_bayes"
        train_df = _frame(spark, scaled_train if nonneg else x_train, y_train)
        test_df = _frame(spark, scaled_test if nonneg else x_test, y_test)
        model = _estimator(name, config, len(bags.categories)).fit(train_df)
        rows = model.transform(test_df).select("row", "prediction").orderBy("row").collect()
        out[name] = np.array([int(r["prediction"]) for r in rows], dtype=np.int64)
        log.info("%s: test accuracy %.3f", name, float(np.mean(out[name] == y_test)))
    return out
