"""The fold comparison on the tiny world: the same folds for every method, each influencer tested
once, per-fold scores paired into differences; the compact CNN trained again per fold."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from training.crossval import cross_validate
from training.folds import stratified_folds
from training.pipeline import FeatureConfig, Prepared, for_splits
from training.train import TrainConfig


def test_every_method_is_scored_on_the_same_folds(
    tiny_prepared: Prepared, tiny_feature_config: FeatureConfig, tiny_train_config: TrainConfig
) -> None:
    train = replace(tiny_train_config, max_epochs=4)
    cv = cross_validate(
        tiny_prepared, tiny_feature_config, train, None, folds=2, methods=("profiler", "mean_mlp"),
        variants=("text",), progress=False,
    )  # fmt: skip
    assert sum(f["test"] for f in cv["fold_sizes"]) == len(tiny_prepared.bags)
    assert set(cv["methods"]) == {"profiler/text", "mean_mlp/text"}
    profiler, mean = (cv["methods"][k]["macro_f1"] for k in ("profiler/text", "mean_mlp/text"))
    assert len(profiler["per_fold"]) == len(mean["per_fold"]) == 2
    (diff,) = [d for d in cv["differences"] if d["metric"] == "macro_f1"]
    assert (diff["a"], diff["b"]) == ("profiler/text", "mean_mlp/text")
    assert diff["mean"] == np.mean(np.subtract(profiler["per_fold"], mean["per_fold"]))
    assert diff["low"] <= diff["mean"] <= diff["high"]


def test_the_compact_cnn_is_trained_again_on_each_folds_training_influencers(
    tiny_prepared: Prepared, tiny_feature_config: FeatureConfig
) -> None:
    config = replace(tiny_feature_config, cnn_train=replace(tiny_feature_config.cnn_train, epochs=1))
    folds = stratified_folds(tiny_prepared.bags, 2, seed=0)
    first, second = for_splits(tiny_prepared, config, folds, progress=False)
    assert np.array_equal(first.split["test"], folds[0]["test"])
    assert not np.allclose(first.blocks["image"], second.blocks["image"]), "one CNN per fold"
    assert first.blocks["text"] is tiny_prepared.blocks["text"], "the text encoder saw no labels: shared"
    kept = next(iter(for_splits(tiny_prepared, config, folds[:1], progress=False, refit_image=False)))
    assert kept.blocks["image"] is tiny_prepared.blocks["image"]
