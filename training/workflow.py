"""The two end-to-end runs behind the command line.

``train_model``: features (stage 1 trains the compact CNN when no image weights are given), the
profiler, its post-count calibration (fitted on the validation influencers' post prefixes), its
held-out metrics, the model folder. ``evaluate_model``: the model on its held-out influencers
(accuracy and calibration against the post count), and every method against the others over k
folds with 95% intervals, written as a report folder.
"""

from __future__ import annotations

import logging
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from training.bags import split_notes
from training.calibration import Calibration
from training.model_dir import ModelParts, load_model, save_model, write_metrics
from training.pipeline import DatasetPath, FeatureConfig, Prepared, prepare, prepare_from_store
from training.prefixes import calibrate, predict_prefixes
from training.sponsorship.train import SponsorTrainConfig, train_beside_profiler
from training.train import TrainConfig, fit_profiler

log = logging.getLogger(__name__)


def _dataset_info(prep: Prepared) -> dict[str, Any]:
    from training.synth.meta import load_world_meta

    world = next((m for m in (load_world_meta(r) for r in prep.roots) if m is not None), None)
    return {
        "name": ", ".join(r.name for r in prep.roots),
        "influencers": len(prep.bags),
        "posts": prep.posts,
        "split": {k: int(len(v)) for k, v in prep.split.items()},
        "split_source": "world.json" if world is not None else "seeded stratified split",
        "world_knobs": world.knobs.to_dict() if world is not None else None,
        "not_held_out": split_notes(prep.bags, prep.split),
        # a model of a sample is not one of the copy: how many, of how many, drawn with which seed
        "sample": prep.sample.to_dict() if prep.sample is not None else None,
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
    store: str | Path | None = None,
    sponsorship: SponsorTrainConfig | None = None,
) -> tuple[str, dict[str, Any]]:
    """Train and export; returns (version, metrics). ``metrics["test"]`` is None when the dataset is
    too small to hold anyone out (``metrics["dataset"]["not_held_out"]`` says what is missing).
    With ``store`` (a feature store of ``dataset``, `scout features`), the features and the encoders
    are the store's and are read batch by batch; ``features``' encoder settings are then unused.
    The sponsored-post head trains beside the profiler on the same features, from a store too (its
    labels are then the store's flags; none when the training posts disclose too few paid posts:
    ``metrics["sponsorship"]`` is then None)."""
    features = features or FeatureConfig()
    train = train or TrainConfig()
    sponsorship = sponsorship or SponsorTrainConfig(seed=train.seed, device=train.device)
    from training.evaluate import held_out_metrics

    if store is not None:
        prep = prepare_from_store(dataset, store, seed=features.seed)
    else:
        prep = prepare(dataset, features, progress=progress)
    info = _dataset_info(prep)
    for note in info["not_held_out"]:
        log.warning("small dataset: %s", note)
    x = prep.features(modalities)
    fit = fit_profiler(x, prep.bags, prep.split["train"], prep.split["val"], train, progress)
    val = predict_prefixes(fit.profiler, x, prep.bags, prep.split["val"], device=train.device)
    calibration = calibrate(val, prep.bags)
    held = held_out_metrics(fit.profiler, x, prep.bags, prep.split["test"], calibration, train.device)
    sponsored = train_beside_profiler(prep, x, features.cache_dir, sponsorship)  # (a store: its flags)
    metrics = {
        "test": held[0] if held else None,
        "dataset": info,
        "calibration": calibration.to_dict(),
        "sponsorship": sponsored.summary if sponsored else None,
    }
    if held:
        log.info("held-out: accuracy %.3f, macro-F1 %.3f", held[0]["accuracy"], held[0]["macro_f1"])
    parts = ModelParts(
        profiler=fit.profiler,
        labels=prep.bags.categories,
        modalities=modalities,
        window=train.window,
        text=prep.text if "text" in modalities else None,
        text_dim=prep.dim("text"),
        image=prep.image if "image" in modalities else None,
        image_dim=prep.dim("image"),
        image_state=prep.image_state if "image" in modalities else {},
        calibration=calibration if calibration.fitted_on else None,
        sponsorship=sponsored.head if sponsored else None,
        sponsorship_training=sponsored.summary if sponsored else {},
    )
    training = {
        "features": features.to_dict(),
        "train": train.to_dict(),
        "modalities": list(modalities),
        "best_epoch": fit.best_epoch,
        "history": fit.history,
        "image_cnn_losses": prep.cnn_losses,
        "sponsorship": sponsorship.to_dict(),
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
    folds: int = 5,
    store: str | Path | None = None,
) -> dict[str, Any]:
    """The report for a trained model: the model on its held-out influencers (every post pooled, and
    prefixes of 1, 3, 10, 30 posts, before and after calibration), then every method x modality over
    ``folds`` stratified folds with 95% intervals, trained with the model's settings (``folds`` 0:
    one comparison on the model's own split, its intervals from a paired bootstrap over the test
    influencers). With ``store``, the features are the store's (it must hold the model's encoders)
    and are read batch by batch; the image features are then fixed across folds."""
    import json

    from safetensors.torch import load_file

    from training.crossval import bootstrap_summary, cross_validate
    from training.errors import SplitError
    from training.evaluate import compare, held_out_metrics
    from training.folds import check_folds
    from training.report import confusion_png, targets, write_report

    model = load_model(model_dir, device="cpu")
    training = json.loads((Path(model_dir) / "training.json").read_text())
    features = FeatureConfig.from_dict(training["features"])
    if cache_dir is not None:
        features = replace(features, cache_dir=cache_dir)
    train = TrainConfig.from_dict(training["train"])
    if store is not None:
        from training.store.read import check_model_encoders

        prep = prepare_from_store(dataset, store, seed=features.seed)
        check_model_encoders(prep.store, Path(model_dir))  # type: ignore[arg-type]
    else:
        weights = Path(model_dir) / "image_encoder.safetensors"
        state = load_file(str(weights)) if weights.is_file() else None
        prep = prepare(dataset, features, image_state=state, progress=progress)
    if folds:
        check_folds(prep.bags, folds)  # before any training: a small dataset stops here, with the count
    variant = {("image", "text"): "multimodal", ("text",): "text", ("image",): "image"}[model.modalities]
    calibration = model.calibration or Calibration()
    x = prep.features(model.modalities)
    held = held_out_metrics(model.profiler, x, prep.bags, prep.split["test"], calibration, train.device)
    if held is None:
        raise SplitError(
            "the model's split holds no test influencer, so there is nothing to report on; "
            + "; ".join(split_notes(prep.bags, prep.split))
        )
    held_metrics, by_prefix = held
    from training.sponsorship.evaluate import evaluate_sponsorship

    sponsorship = evaluate_sponsorship(prep, model.sponsorship, x, features.cache_dir, features.seed)
    spark = None
    if spark_master:
        from training.spark_local import local_spark

        spark = local_spark(spark_master)
    metrics: dict[str, Any] = {
        "model_version": model.version,
        "model_variant": variant,
        "dataset": _dataset_info(prep),
        "model": held_metrics,
        "calibration": calibration.to_dict(),
        "sponsorship": sponsorship,
    }
    if folds:
        metrics["cross_validation"] = cross_validate(
            prep, features, train, spark, folds, features.seed, progress=progress
        )
    else:
        trained = {f"profiler/{variant}": model.profiler}
        comparison = compare(prep, train, spark, trained=trained, progress=progress)
        metrics["results"] = comparison.results
        metrics["bootstrap"] = bootstrap_summary(comparison, prep, features.seed)
    metrics["targets"] = targets(metrics)
    metrics["commands"] = [c for c in (training.get("command"), _command_line()) if c]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    confusion_png(
        held_metrics["confusion"], prep.bags.categories, out / "confusion.png", f"profiler ({variant}), test"
    )
    from training.dataset.reader import open_dataset

    with open_dataset(prep.roots) as ds:
        metrics["attention_figure"] = _attention_figure(ds, prep, by_prefix["all"], out / "attention.png")
    write_report(out, metrics)
    write_metrics(model_dir, {**model.metrics, "comparison": metrics})
    return metrics


def _attention_figure(ds: Any, prep: Prepared, pred: Any, path: Path) -> dict[str, Any]:
    """The attention figure of one held-out influencer; from a store, that influencer's posts are
    read from the copy (the same rows in the same order) rather than from a table of every post."""
    from training.encoders.features import collect_posts
    from training.report import attention_png, pick_influencer

    if prep.table is not None:
        return attention_png(ds, prep.table, prep.bags, pred, path)
    position = pick_influencer(pred, prep.bags)
    bag = int(pred.idx[position])
    table = collect_posts(ds, [prep.bags.names[bag]])
    return attention_png(ds, table, prep.bags, pred, path, position, row_offset=int(prep.bags.starts[bag]))
