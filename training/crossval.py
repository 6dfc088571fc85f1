"""The comparison with intervals: over k folds (every method x modality trained and tested on the
same folds; each one's mean and 95% t-interval, and the paired interval of every difference the
report discusses), or on one split with a paired bootstrap over its test influencers.

A method "beats" another only where the interval of their difference lies above zero.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from training.evaluate import METHODS, VARIANTS, Comparison, compare
from training.folds import stratified_folds
from training.intervals import paired_bootstrap, paired_difference, t_interval
from training.pipeline import FeatureConfig, Prepared, for_splits
from training.train import TrainConfig

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from training.baselines import SparkMLConfig

log = logging.getLogger(__name__)

METRICS = ("macro_f1", "accuracy")
DEFAULT_FOLDS = 5


def _pairs(keys: Sequence[str]) -> list[tuple[str, str]]:
    """profiler/v against every other method on v, and the multimodal profiler against its single
    modalities."""
    have = set(keys)
    out = []
    for variant in VARIANTS:
        mine = f"profiler/{variant}"
        if mine in have:
            out += [(mine, k) for k in keys if k.endswith(f"/{variant}") and k != mine]
    if "profiler/multimodal" in have:
        out += [
            ("profiler/multimodal", f"profiler/{v}") for v in ("text", "image") if f"profiler/{v}" in have
        ]
    return out


def summarise(scores: dict[str, dict[str, list[float]]], folds: int, seed: int) -> dict[str, Any]:
    """Per-fold scores ("method/variant" -> metric -> (k,) values) -> intervals and differences."""
    methods = {
        key: {metric: {**t_interval(values).to_dict(), "per_fold": values} for metric, values in by.items()}
        for key, by in scores.items()
    }
    differences = []
    for a, b in _pairs(list(scores)):
        for metric in METRICS:
            interval = paired_difference(scores[a][metric], scores[b][metric])
            differences.append(
                {"a": a, "b": b, "metric": metric, **interval.to_dict(), "verdict": interval.verdict()}
            )
    return {"folds": folds, "seed": seed, "methods": methods, "differences": differences}


def bootstrap_summary(
    comparison: Comparison, prep: Prepared, seed: int = 0, resamples: int = 2000
) -> dict[str, Any]:
    """Macro-F1 intervals of one split's comparison: a paired bootstrap over its test influencers
    (accuracy is given without an interval)."""
    y = prep.bags.labels[prep.split["test"]]
    keys = list(comparison.predicted)
    methods, diffs = paired_bootstrap(
        y, comparison.predicted, _pairs(keys), len(prep.bags.categories), resamples, seed
    )
    accuracy = {k: float((comparison.predicted[k] == y).mean()) for k in keys}
    return {
        "resamples": resamples,
        "seed": seed,
        "test_influencers": int(len(y)),
        "methods": {
            k: {"macro_f1": methods[k].to_dict(), "accuracy": {"mean": accuracy[k], "half_width": None}}
            for k in keys
        },
        "differences": [
            {"a": a, "b": b, "metric": "macro_f1", **iv.to_dict(), "verdict": iv.verdict()}
            for (a, b), iv in diffs.items()
        ],
    }


def cross_validate(
    prep: Prepared,
    config: FeatureConfig,
    train: TrainConfig,
    spark: SparkSession | None = None,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    methods: Sequence[str] = METHODS,
    variants: Sequence[str] = tuple(VARIANTS),
    spark_config: SparkMLConfig | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train and test every method x variant on ``folds`` stratified folds of ``prep``'s influencers
    (its own split is ignored); SplitError when a category has fewer influencers than folds."""
    splits = stratified_folds(prep.bags, folds, seed)
    scores: dict[str, dict[str, list[float]]] = {}
    sizes = []
    uses_image = any("image" in VARIANTS[v] for v in variants)
    for i, fold in enumerate(for_splits(prep, config, splits, progress, refit_image=uses_image)):
        sizes.append({part: int(len(idx)) for part, idx in fold.split.items()})
        log.info("fold %d of %d: %s", i + 1, folds, sizes[-1])
        comparison = compare(
            fold, train, spark, methods, variants, spark_config=spark_config, progress=progress
        )
        for method, by_variant in comparison.results.items():
            for variant, metrics in by_variant.items():
                slot = scores.setdefault(f"{method}/{variant}", {m: [] for m in METRICS})
                for metric in METRICS:
                    slot[metric].append(float(metrics[metric]))
    return {**summarise(scores, folds, seed), "fold_sizes": sizes}
