"""Training on a tiny synthetic world: bags, windows with masking, the loss goes down, and the
profiler beats chance on held-out influencers."""

from __future__ import annotations

import numpy as np
import torch

from training.bags import IGNORE, InfluencerBags, build_bags, make_batch, split_bags
from training.encoders.features import PostTable
from training.evaluate import evaluate_predictions
from training.pipeline import Prepared
from training.train import TrainConfig, fit_profiler, predict_bags


def _table(owners: list[str]) -> PostTable:
    n = len(owners)
    return PostTable(
        post_ids=np.array([f"p{i}" for i in range(n)]),
        influencers=np.array(owners),
        timestamps=np.arange(n, dtype=np.int64),
        texts=np.array(["t"] * n),
        images=np.array([""] * n),
    )


def test_bags_are_contiguous_runs_with_known_labels_only() -> None:
    table = _table(["a", "a", "a", "b", "c", "c"])
    bags = build_bags(table, {"a": "food", "c": "pet"}, topics={"p0": "food", "p1": None, "p5": "travel"})
    assert bags.names == ("a", "c")
    assert bags.starts.tolist() == [0, 4] and bags.ends.tolist() == [3, 6]
    assert [bags.categories[i] for i in bags.labels] == ["food", "pet"]
    assert bags.post_topics.tolist()[:2] == [bags.categories.index("food"), IGNORE]


def test_seeded_split_is_stratified_and_disjoint(tmp_path) -> None:
    owners = [f"u{i}" for i in range(40) for _ in range(2)]
    labels = {f"u{i}": ("food", "pet")[i % 2] for i in range(40)}
    bags = build_bags(_table(owners), labels)
    split = split_bags(bags, tmp_path, seed=1)
    assert sum(len(v) for v in split.values()) == 40
    assert len(set(np.concatenate(list(split.values())).tolist())) == 40
    test_labels = [bags.categories[i] for i in bags.labels[split["test"]]]
    assert sorted(test_labels) == ["food"] * 3 + ["pet"] * 3, "15% of each category"
    assert split_bags(bags, tmp_path, seed=1)["test"].tolist() == split["test"].tolist()


def test_windows_sample_in_time_order_and_mask_padding() -> None:
    bags = InfluencerBags(
        names=("a", "b"),
        labels=np.array([0, 1]),
        starts=np.array([0, 10]),
        ends=np.array([10, 13]),
        post_topics=np.full(13, IGNORE),
    )
    features = torch.arange(13, dtype=torch.float32)[:, None].repeat(1, 2)  # (N, F): row number
    x, mask, rows, _ = make_batch(features, bags, np.array([0, 1]), window=4, rng=np.random.default_rng(0))
    assert x.shape == (2, 4, 2) and mask.tolist() == [[True] * 4, [True] * 3 + [False]]
    assert torch.all(torch.diff(rows[0]) > 0) and rows[0].min() >= 0 and rows[0].max() <= 9
    assert x[1, 3].abs().sum() == 0, "padding is zero"
    _, _, recent, _ = make_batch(features, bags, np.array([0]), window=4, rng=None)
    assert recent[0].tolist() == [6, 7, 8, 9], "without a generator: the most recent posts"


def test_training_lowers_the_loss_and_beats_chance(
    tiny_prepared: Prepared, tiny_train_config: TrainConfig
) -> None:
    prep = tiny_prepared
    features = prep.features(("image", "text"))
    fit = fit_profiler(
        features, prep.bags, prep.split["train"], prep.split["val"], tiny_train_config, progress=False
    )
    losses = [h["train_loss"] for h in fit.history]
    assert min(losses[-3:]) < 0.6 * losses[0]
    assert fit.history[fit.best_epoch - 1]["val_loss"] < fit.history[0]["val_loss"]
    held_out = np.concatenate([prep.split["val"], prep.split["test"]])
    pred = predict_bags(fit.profiler, features, prep.bags, held_out, device="cpu")
    metrics = evaluate_predictions(pred, prep.bags)
    assert metrics["influencers"] == len(held_out) >= 9
    assert metrics["accuracy"] >= 3 / 9, f"chance is 1/9; got {metrics['accuracy']:.2f}"
    assert metrics["post_accuracy"] > 1 / 9 and metrics["post_accuracy_basis"] == "true post topic"
    # every post of every held-out influencer is pooled, weights summing to one per influencer
    counts = prep.bags.counts()[held_out]
    assert len(pred.weights) == counts.sum()
    sums = np.add.reduceat(pred.weights, np.concatenate([[0], np.cumsum(counts)[:-1]]))
    np.testing.assert_allclose(sums, 1.0, rtol=1e-5)


def test_training_is_seeded(tiny_prepared: Prepared, tiny_train_config: TrainConfig) -> None:
    prep = tiny_prepared
    features = prep.features(("text",))
    config = TrainConfig(**{**tiny_train_config.to_dict(), "max_epochs": 3})
    a = fit_profiler(features, prep.bags, prep.split["train"], prep.split["val"], config, progress=False)
    b = fit_profiler(features, prep.bags, prep.split["train"], prep.split["val"], config, progress=False)
    assert a.history == b.history
