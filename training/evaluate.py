"""Metrics, and the comparison of the profiler with its baselines on the same held-out influencers.

Influencers: accuracy, macro-F1 (over the categories present in the test split) and per-category F1.
Posts: accuracy of the post head, against each post's true topic where the copy knows it (a
synthetic world; generic posts have none and are skipped) and against the influencer's category
otherwise (the public dataset). Methods x modalities:

    profiler      attention pooling + MLP head (training.train)
    mean_mlp      mean pooling of the projected posts h + the same MLP head
    mean_features_mlp   mean of the encoders' features, then the same projection and MLP head
    spark_lr / spark_rf / spark_nb   mean pooling + Spark ML LogisticRegression / RandomForest / NaiveBayes
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score

from training.bags import MIN_PER_CATEGORY, InfluencerBags
from training.baselines import SparkMLConfig, spark_baseline_predictions
from training.calibration import Calibration
from training.errors import SplitError
from training.pipeline import Prepared
from training.prefixes import PREFIXES, pooled_ece, predict_prefixes, prefix_name, prefix_table
from training.profiler import PostAttentiveProfiler
from training.train import FitResult, Predictions, TrainConfig, fit_profiler, predict_bags

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

VARIANTS: dict[str, tuple[str, ...]] = {
    "multimodal": ("image", "text"),
    "text": ("text",),
    "image": ("image",),
}
SPARK_METHODS = {"spark_lr": "logistic_regression", "spark_rf": "random_forest", "spark_nb": "naive_bayes"}
NETWORK_METHODS = {"profiler": "attention", "mean_mlp": "mean", "mean_features_mlp": "mean_features"}
METHODS = (*NETWORK_METHODS, *SPARK_METHODS)


def influencer_metrics(y_true: np.ndarray, y_pred: np.ndarray, categories: Sequence[str]) -> dict[str, Any]:
    present = sorted(set(y_true.tolist()))
    per = f1_score(y_true, y_pred, labels=list(range(len(categories))), average=None, zero_division=0)
    return {
        "influencers": int(len(y_true)),
        "accuracy": float(np.mean(y_true == y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "per_category_f1": {categories[c]: float(per[c]) for c in present},
        "confusion": confusion_matrix(y_true, y_pred, labels=list(range(len(categories)))).tolist(),
    }


def post_metrics(pred: Predictions, bags: InfluencerBags) -> dict[str, Any]:
    predicted = pred.post_probs.argmax(axis=1)
    topics = bags.post_topics[pred.post_rows]
    known = topics >= 0
    if known.any():
        return {
            "post_accuracy": float(np.mean(predicted[known] == topics[known])),
            "post_accuracy_basis": "true post topic",
            "posts": int(known.sum()),
        }
    owner = np.repeat(bags.labels[pred.idx], bags.counts()[pred.idx])
    return {
        "post_accuracy": float(np.mean(predicted == owner)),
        "post_accuracy_basis": "influencer category",
        "posts": int(len(owner)),
    }


def evaluate_predictions(pred: Predictions, bags: InfluencerBags) -> dict[str, Any]:
    metrics = influencer_metrics(bags.labels[pred.idx], pred.probs.argmax(axis=1), bags.categories)
    metrics.update(post_metrics(pred, bags))
    return metrics


def held_out_metrics(
    model: PostAttentiveProfiler,
    features: np.ndarray,
    bags: InfluencerBags,
    test_idx: np.ndarray,
    calibration: Calibration,
    device: str = "auto",
) -> tuple[dict[str, Any], dict[str, Predictions]] | None:
    """One model on its held-out influencers: the metrics of every post pooled, plus accuracy and
    calibration against the post count (prefixes 1, 3, 10, 30, all). None when nothing is held out."""
    if not len(test_idx):
        return None
    by_prefix = predict_prefixes(model, features, bags, test_idx, PREFIXES, device)
    metrics = evaluate_predictions(by_prefix[prefix_name(None)], bags)
    metrics["prefixes"] = prefix_table(by_prefix, bags, calibration)
    metrics["calibration_error"] = pooled_ece(by_prefix, bags, calibration)
    return metrics, by_prefix


@dataclass
class Comparison:
    results: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=dict
    )  # method -> variant -> metrics
    predictions: dict[str, Predictions] = field(default_factory=dict)  # "method/variant" -> test predictions
    fits: dict[str, FitResult] = field(default_factory=dict)
    predicted: dict[str, np.ndarray] = field(default_factory=dict)  # "method/variant" -> (B_test,) labels

    def table(self) -> list[dict[str, Any]]:
        """One row per method and variant: accuracy and macro-F1."""
        return [
            {"method": m, "variant": v, "accuracy": r["accuracy"], "macro_f1": r["macro_f1"]}
            for m, by_variant in self.results.items()
            for v, r in by_variant.items()
        ]


def compare(
    prep: Prepared,
    train: TrainConfig,
    spark: SparkSession | None = None,
    methods: Sequence[str] = METHODS,
    variants: Sequence[str] = tuple(VARIANTS),
    trained: dict[str, PostAttentiveProfiler] | None = None,
    spark_config: SparkMLConfig | None = None,
    progress: bool = True,
) -> Comparison:
    """Train and evaluate every method x variant on ``prep``'s split. ``trained`` supplies
    already trained profilers by "method/variant" (e.g. the exported model), evaluated as they are."""
    out = Comparison()
    split, bags = prep.split, prep.bags
    if not len(split["test"]):
        raise SplitError(
            "no influencer is held out for testing, so there is nothing to compare on: the seeded split "
            f"needs at least {MIN_PER_CATEGORY['test']} influencers in a category to test one "
            f"({MIN_PER_CATEGORY['val']} for validation too)"
        )
    for variant in variants:
        features = prep.features(VARIANTS[variant])
        for method in methods:
            key = f"{method}/{variant}"
            if method in NETWORK_METHODS:
                model = (trained or {}).get(key)
                if model is None:
                    pooling = NETWORK_METHODS[method]
                    fit = fit_profiler(
                        features,
                        bags,
                        split["train"],
                        split["val"],
                        replace(train, pooling=pooling),
                        progress,
                    )
                    out.fits[key] = fit
                    model = fit.profiler
                pred = predict_bags(model, features, bags, split["test"], device=train.device)
                out.predictions[key] = pred
                out.predicted[key] = pred.probs.argmax(axis=1)
                metrics = evaluate_predictions(pred, bags)
            elif method in SPARK_METHODS:
                if spark is None:
                    continue
                fit_idx = np.concatenate([split["train"], split["val"]])
                labels = spark_baseline_predictions(
                    spark,
                    features,
                    bags,
                    fit_idx,
                    split["test"],
                    [SPARK_METHODS[method]],
                    spark_config or SparkMLConfig(),
                )[SPARK_METHODS[method]]
                out.predicted[key] = labels
                metrics = influencer_metrics(bags.labels[split["test"]], labels, bags.categories)
            else:
                raise ValueError(f"unknown method {method!r}; known: {METHODS}")
            out.results.setdefault(method, {})[variant] = metrics
            log.info(
                "%-9s %-10s accuracy %.3f macro-F1 %.3f",
                method,
                variant,
                metrics["accuracy"],
                metrics["macro_f1"],
            )
    return out
