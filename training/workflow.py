"""The two end-to-end runs behind the command line.

``train_model``: features (stage 1 trains the compact CNN when no image weights are given), the
profiler, its held-out metrics, the model folder. ``evaluate_model``: a model folder against its
baselines on the same held-out influencers, written as a report folder.
"""

from __future__ import annotations

import logging
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from training.model_dir import ModelParts, load_model, save_model, write_metrics
from training.pipeline import DatasetPath, FeatureConfig, Prepared, prepare
from training.train import TrainConfig, fit_profiler, predict_bags

log = logging.getLogger(__name__)


def _dataset_info(prep: Prepared) -> dict[str, Any]:
    from training.synth.meta import load_world_meta

    world = next((m for m in (load_world_meta(r) for r in prep.roots) if m is not None), None)
    return {
        "name": ", ".join(r.name for r in prep.roots),
        "influencers": len(prep.bags),
        "posts": len(prep.table),
        "split": {k: int(len(v)) for k, v in prep.split.items()},
        "split_source": "world.json" if world is not None else "seeded stratified split",
        "world_knobs": world.knobs.to_dict() if world is not None else None,
    }


def _command_line() -> str:
    return "scout " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else ""


def train_model(
    dataset: DatasetPath,
    out_dir: str | Path,
    features: FeatureConfig | None = None,
    train: TrainConfig | None = None,
    modalities: tuple[str, ...] = ("image", "text"),
    progress: bool = True,
) -> tuple[str, dict[str, Any]]:
    """Train and export; returns (version, held-out metrics)."""
    features = features or FeatureConfig()
    train = train or TrainConfig()
    from training.evaluate import evaluate_predictions

    prep = prepare(dataset, features, progress=progress)
    x = prep.features(modalities)
    fit = fit_profiler(x, prep.bags, prep.split["train"], prep.split["val"], train, progress)
    pred = predict_bags(fit.profiler, x, prep.bags, prep.split["test"], device=train.device)
    metrics = {"test": evaluate_predictions(pred, prep.bags), "dataset": _dataset_info(prep)}
    log.info(
        "held-out: accuracy %.3f, macro-F1 %.3f", metrics["test"]["accuracy"], metrics["test"]["macro_f1"]
    )
    parts = ModelParts(
        profiler=fit.profiler,
        labels=prep.bags.categories,
        modalities=modalities,
        window=train.window,
        text=prep.text if "text" in modalities else None,
        text_dim=prep.blocks["text"].shape[1],
        image=prep.image if "image" in modalities else None,
        image_dim=prep.blocks["image"].shape[1],
        image_state=prep.image_state if "image" in modalities else {},
    )
    training = {
        "features": features.to_dict(),
        "train": train.to_dict(),
        "modalities": list(modalities),
        "best_epoch": fit.best_epoch,
        "history": fit.history,
        "image_cnn_losses": prep.cnn_losses,
        "command": _command_line(),
    }
    version = save_model(out_dir, parts, training=training, metrics=metrics)
    return version, metrics


def evaluate_model(
    dataset: DatasetPath,
    model_dir: str | Path,
    out_dir: str | Path,
    spark_master: str | None = "local[2]",
    cache_dir: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """The comparison table for a trained model: the model itself, then the text-only and
    image-only profilers and every baseline, trained with the model's settings on its features."""
    import json

    from safetensors.torch import load_file

    from training.evaluate import compare
    from training.report import attention_png, confusion_png, targets, write_report

    model = load_model(model_dir, device="cpu")
    training = json.loads((Path(model_dir) / "training.json").read_text())
    features = FeatureConfig.from_dict(training["features"])
    if cache_dir is not None:
        features = replace(features, cache_dir=cache_dir)
    train = TrainConfig.from_dict(training["train"])
    weights = Path(model_dir) / "image_encoder.safetensors"
    state = load_file(str(weights)) if weights.is_file() else None
    prep = prepare(dataset, features, image_state=state, progress=progress)
    variant = {("image", "text"): "multimodal", ("text",): "text", ("image",): "image"}[model.modalities]
    spark = None
    if spark_master:
        from training.spark_local import local_spark

        spark = local_spark(spark_master)
    comparison = compare(
        prep, train, spark, trained={f"profiler/{variant}": model.profiler}, progress=progress
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = comparison.results
    metrics: dict[str, Any] = {
        "model_version": model.version,
        "dataset": _dataset_info(prep),
        "results": results,
        "targets": targets(results),
        "commands": [c for c in (training.get("command"), _command_line()) if c],
    }
    best = results["profiler"][variant]
    confusion_png(
        best["confusion"], prep.bags.categories, out / "confusion.png", f"profiler ({variant}), test"
    )
    from training.dataset.reader import open_dataset

    with open_dataset(prep.roots) as ds:
        metrics["attention_figure"] = attention_png(
            ds, prep.table, prep.bags, comparison.predictions[f"profiler/{variant}"], out / "attention.png"
        )
    write_report(out, metrics)
    write_metrics(model_dir, {**model.metrics, "comparison": metrics})
    return metrics
