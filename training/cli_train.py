"""`scout train` (a model folder from a dataset) and `scout evaluate` (its comparison report).

scout generate /tmp/world --influencers 60 --posts 30 --seed 7
scout train /tmp/world --out /tmp/model
scout evaluate /tmp/world --model /tmp/model --out /tmp/report

A copy too large to hold in memory: its compact CNN from a sample, then the store and the profiler.

scout train /data/instagram --sample-influencers 2000 --out /data/model-cnn
scout features /data/instagram --out /data/store --model /data/model-cnn
scout train /data/instagram --features /data/store --out /data/model
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

log = logging.getLogger(__name__)

MODALITY_CHOICES = {"multimodal": ("image", "text"), "text": ("text",), "image": ("image",)}


AUTO_BACKBONE = "auto"
# The text encoder option of every command that builds one (train, features).
TextEncoderOption = Annotated[
    str | None,
    typer.Option(help="Local Hugging Face encoder folder (default: packaged all-MiniLM-L6-v2)."),
]


def default_image_backbone(dataset: Path) -> str:
    """The image tower `scout train` picks when none is named: the compact CNN for a synthetic world
    (drawn images; on the default world the pretrained tower was not told apart from it and trains
    2.5x slower, README "Image encoders"), the ImageNet MobileNetV2 for a copy of real photos (what
    ImageNet towers are made for; the paper used one)."""
    from training.dataset.reader import open_dataset

    with open_dataset(dataset) as copy:
        synthetic = copy.read_meta_file() is not None  # world.json: written by `scout generate`
    return "compact_cnn" if synthetic else "mobilenet_v2"


def train(
    dataset: Annotated[
        Path, typer.Argument(help="Dataset folder or archive (public layout or a synthetic world).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write.")],
    modalities: Annotated[str, typer.Option(help="multimodal, text or image.")] = "multimodal",
    pooling: Annotated[
        str, typer.Option(help="attention (the profiler) or mean (the baseline).")
    ] = "attention",
    text_encoder: TextEncoderOption = None,
    image_backbone: Annotated[
        str,
        typer.Option(
            help="auto (compact_cnn for a synthetic world, mobilenet_v2 for a copy of real photos), "
            "compact_cnn (trained here), mobilenet_v2 (ImageNet weights from an installed package, "
            "frozen), resnet18, resnet50, inception_v3 or hf."
        ),
    ] = AUTO_BACKBONE,
    image_weights: Annotated[
        str | None,
        typer.Option(
            help="Local torchvision state-dict file (optional for mobilenet_v2), or Hugging Face vision "
            "folder for hf."
        ),
    ] = None,
    image_finetune_blocks: Annotated[
        int,
        typer.Option(
            help="Last modules of a pretrained mobilenet_v2's features to tune on the post task "
            "(0: frozen). The trunk runs once and is cached; the tuned top trains for a few epochs."
        ),
    ] = 0,
    cnn_epochs: Annotated[int, typer.Option(help="Epochs of the compact CNN stage.")] = 4,
    epochs: Annotated[int, typer.Option(help="Maximum profiler epochs (early stopping on validation).")] = 60,
    window: Annotated[int, typer.Option(help="Posts drawn per influencer per training step.")] = 32,
    lr: Annotated[
        float | None, typer.Option(help="AdamW learning rate of the profiler (default: TrainConfig's).")
    ] = None,
    patience: Annotated[
        int | None, typer.Option(help="Epochs without a better validation loss before stopping.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of every random choice.")] = 0,
    device: Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")] = "auto",
    cache_dir: Annotated[str, typer.Option(help="Feature cache folder.")] = "build/cache/features",
    features_store: Annotated[
        Path | None,
        typer.Option(
            "--features",
            help="Feature store of the dataset (`scout features`): train on its features and encoders, "
            "read batch by batch (the image and text encoder options are then unused).",
        ),
    ] = None,
    sample_influencers: Annotated[
        int | None,
        typer.Option(
            help="Train on N influencers of the copy drawn with --seed (stratified by category, each "
            "keeping its part of the copy's split), reading only their posts: a model folder whose "
            "encoders can embed a copy too large to train on in memory (`scout features --model`).",
        ),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Progress bars.")] = True,
) -> None:
    """Train the multimodal post-attentive profiler and write a self-describing model folder.

    Example: scout train /tmp/world --out /tmp/model --epochs 30
    (pretrained image tower: add --image-backbone mobilenet_v2;
    a compact CNN for a large copy: scout train /data/instagram --sample-influencers 2000 --out /data/cnn)
    """
    from training.dataset.sample import SampleConfig
    from training.encoders.compact_cnn import CNNTrainConfig
    from training.encoders.finetune import FinetuneTrainConfig
    from training.encoders.image import BACKBONES, ImageEncoderConfig, finetune_block_error
    from training.encoders.text import TextEncoderConfig
    from training.errors import FeatureStoreError, SampleError
    from training.pipeline import FeatureConfig
    from training.train import TrainConfig
    from training.workflow import train_model

    if pooling not in ("attention", "mean"):
        raise typer.BadParameter("--pooling must be attention or mean (the two that serve incrementally)")
    if image_backbone == AUTO_BACKBONE and image_finetune_blocks:
        raise typer.BadParameter(
            "--image-finetune-blocks tunes a pretrained tower: name it "
            "(--image-backbone mobilenet_v2), not auto"
        )
    if sample_influencers is not None and features_store is not None:
        raise typer.BadParameter(
            "--sample-influencers trains in memory on a sample; --features trains on the whole copy's "
            "store: give one of them"
        )
    if image_backbone == AUTO_BACKBONE and features_store is not None:
        image_backbone = "compact_cnn"  # unused: the store's encoders are the model's
    if image_backbone == AUTO_BACKBONE:
        image_backbone = default_image_backbone(dataset)
        typer.echo(f"image backbone: {image_backbone} (auto)")
    if image_backbone not in BACKBONES:
        raise typer.BadParameter(f"--image-backbone must be auto or one of {', '.join(BACKBONES)}")
    if (problem := finetune_block_error(image_backbone, image_finetune_blocks)) is not None:
        raise typer.BadParameter(f"--image-finetune-blocks: {problem}")
    if modalities not in MODALITY_CHOICES:
        raise typer.BadParameter(f"--modalities must be one of {', '.join(MODALITY_CHOICES)}")
    features = FeatureConfig(
        text=TextEncoderConfig(path=text_encoder),
        image=ImageEncoderConfig(
            backbone=image_backbone, weights=image_weights, finetune_blocks=image_finetune_blocks
        ),
        cnn_train=CNNTrainConfig(epochs=cnn_epochs, seed=seed),
        finetune=FinetuneTrainConfig(seed=seed),
        cache_dir=cache_dir,
        device=device,
        seed=seed,
        sample=None if sample_influencers is None else SampleConfig(sample_influencers, seed=seed),
    )
    tuned = {key: value for key, value in (("lr", lr), ("patience", patience)) if value is not None}
    config = TrainConfig(pooling=pooling, window=window, max_epochs=epochs, seed=seed, device=device, **tuned)
    try:
        version, metrics = train_model(
            dataset, out, features, config, MODALITY_CHOICES[modalities], progress, store=features_store
        )
    except (FeatureStoreError, SampleError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    if (sample := metrics["dataset"]["sample"]) is not None:
        typer.echo(
            f"trained on a sample of {sample['influencers']} of {sample['of']} influencers "
            f"(seed {sample['seed']}; split {sample['split']})"
        )
    for note in metrics["dataset"]["not_held_out"]:
        typer.echo(f"not held out: {note}")
    test = metrics["test"]
    ece = (test or {}).get("calibration_error") or {}
    if test is None:
        typer.echo(f"model {version} written to {out}: untested (nothing could be held out)")
        return
    typer.echo(
        f"model {version} written to {out}: held-out accuracy {test['accuracy']:.3f}, "
        f"macro-F1 {test['macro_f1']:.3f}, post accuracy {test['post_accuracy']:.3f}, "
        f"ECE {ece.get('ece_raw', float('nan')):.3f} -> {ece.get('ece_calibrated', float('nan')):.3f} "
        "(calibrated, over prefixes of 1, 3, 10, 30 and all posts)"
    )


def evaluate(
    ctx: typer.Context,
    dataset: Annotated[Path, typer.Argument(help="The dataset the model was trained on.")],
    model: Annotated[Path, typer.Option("--model", "-m", help="Model folder written by `scout train`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder to write.")],
    spark_master: Annotated[
        str | None,
        typer.Option(
            help="Spark master for the Spark ML baselines (default: the configured spark.master); "
            "'none' skips them."
        ),
    ] = None,
    cache_dir: Annotated[
        str | None, typer.Option(help="Feature cache folder (default: the one used in training).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Progress bars.")] = True,
    folds: Annotated[
        int,
        typer.Option(
            help="Stratified folds of the comparison (every method on the same folds, 95% intervals); "
            "0 compares on the model's own split only, without intervals."
        ),
    ] = 5,
    features_store: Annotated[
        Path | None,
        typer.Option(
            "--features",
            help="Feature store of the dataset written with the model's encoders (`scout features "
            "--model`): read its features batch by batch.",
        ),
    ] = None,
) -> None:
    """Compare a model with mean pooling + MLP and Spark ML LR/RF/NB, each text-only, image-only and
    multimodal, over k folds (mean and 95% interval of each, and of each difference), and the model's
    accuracy and calibration against post count; writes metrics.json, report.md and PNGs.

    Example: scout evaluate /tmp/world --model /tmp/model --out /tmp/report --folds 5
    """
    from streaming.cli import settings_of
    from training.errors import FeatureStoreError, SplitError
    from training.report import METHOD_NAMES
    from training.workflow import evaluate_model

    if folds == 1 or folds < 0:
        raise typer.BadParameter("--folds must be 0 (the model's split only) or at least 2")
    try:
        metrics = evaluate_model(
            dataset,
            model,
            out,
            None if spark_master == "none" else (spark_master or settings_of(ctx).spark.master),
            cache_dir,
            progress,
            folds,
            store=features_store,
        )
    except (SplitError, FeatureStoreError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    cv = metrics.get("cross_validation")
    if cv:
        for key, by_metric in cv["methods"].items():
            f1 = by_metric["macro_f1"]
            half = f"± {f1['half_width']:.3f}" if f1["half_width"] is not None else ""
            typer.echo(f"{key:32s} macro-F1 {f1['mean']:.3f} {half}")
        for d in cv["differences"]:
            if d["metric"] == "macro_f1" and d["low"] is not None:
                interval = f"[{d['low']:+.3f}, {d['high']:+.3f}]"
                typer.echo(f"{d['a']} - {d['b']}: {d['mean']:+.3f} {interval} {d['verdict']}")
    for method, by_variant in (metrics.get("results") or {}).items():
        cells = "  ".join(f"{v} {r['macro_f1']:.3f}" for v, r in by_variant.items())
        typer.echo(f"{METHOD_NAMES.get(method, method):45s} macro-F1  {cells}")
    sponsorship = (metrics.get("sponsorship") or {}).get("undisclosed")
    if sponsorship:
        cells = ", ".join(
            f"{name} {m['average_precision']['mean']:.3f}" for name, m in sponsorship["methods"].items()
        )
        typer.echo(
            f"undisclosed ads ({sponsorship['positives']} in the test posts), average precision: {cells}"
        )
    typer.echo(f"report: {out / 'report.md'}")
