"""`scout features`: a dataset's post features as a Spark job, into a feature store.

scout features /tmp/world --out /tmp/store --model /tmp/model      # that model's encoders
scout features /data/instagram --out /data/store                   # text + MobileNetV2
scout train /data/instagram --features /data/store --out /data/model

The Spark master is the configured one (``spark.master``, e.g. ``--set spark.master=spark://host:7077``
or a settings file), as for the streaming job.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from training.cli_train import TextEncoderOption

log = logging.getLogger(__name__)


def features(
    ctx: typer.Context,
    dataset: Annotated[Path, typer.Argument(help="Dataset folder (public layout or a synthetic world).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Feature store folder to write (replaced).")],
    model: Annotated[
        Path | None, typer.Option("--model", "-m", help="Embed with this model folder's encoders.")
    ] = None,
    text_encoder: TextEncoderOption = None,
    image_backbone: Annotated[
        str,
        typer.Option(
            help="A pretrained image tower (mobilenet_v2, resnet18, resnet50, inception_v3, hf) or none; "
            "a compact CNN comes from a model folder (--model)."
        ),
    ] = "mobilenet_v2",
    image_weights: Annotated[
        str | None, typer.Option(help="Local weights file (torchvision) or folder (hf) of the tower.")
    ] = None,
    buckets: Annotated[
        int | None,
        typer.Option(
            help="Influencer buckets of the Parquet, one Spark task each (default: 2 x parallelism)."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Posts per encoder batch in a Spark worker.")] = 64,
    device: Annotated[str, typer.Option(help="auto (CUDA where a worker has it), cpu or cuda.")] = "auto",
) -> None:
    """Embed every post of a dataset with Spark into a feature store that `scout train --features`
    and `scout evaluate --features` read in batches.

    Example: scout features /tmp/world --out /tmp/store --model /tmp/model
    """
    from streaming.cli import settings_of
    from training.encoders.spark_features import EncoderSource
    from training.errors import FeatureStoreError
    from training.spark_local import local_spark
    from training.store.write import write_store

    if model is not None:
        source = EncoderSource(model_dir=str(model), device=device)
    else:  # these encoders are loaded in the driver too, for their widths
        from training.encoders.image import ImageEncoderConfig
        from training.encoders.text import TextEncoderConfig

        image = None
        if image_backbone != "none":
            image = ImageEncoderConfig(backbone=image_backbone, weights=image_weights)
        source = EncoderSource(text=TextEncoderConfig(path=text_encoder), image=image, device=device)
    spark_settings = settings_of(ctx).spark
    spark = local_spark(
        spark_settings.master,
        app_name="influencer-scout-features",
        conf={"spark.driver.memory": spark_settings.features_driver_memory, **spark_settings.extra_conf},
    )
    try:
        manifest = write_store(spark, dataset, source, out, buckets=buckets, batch_size=batch_size)
    except FeatureStoreError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(
        f"feature store {out}: {manifest.posts} posts of {manifest.influencers} influencers, "
        f"{manifest.feature_dim} features ({', '.join(manifest.modalities)})"
    )
