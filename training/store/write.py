"""The Spark job behind `scout features`: embed every post of a dataset into a feature store.

    manifest = write_store(spark, "data/world", EncoderSource(model_dir="models/m"), "build/store")

Posts come from the Spark dataset reader; each influencer is hashed into one of ``buckets`` buckets
(Spark's xxhash64 of the name), the rows are embedded in batches by the encoders loaded once per
Python worker (training.encoders.spark_features), sorted within each bucket by influencer, time and
post id, and written as Parquet partitioned by bucket; then the driver packs them bucket by bucket
(training.store.pack). Nothing here holds more than one batch of posts in the driver.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.dataset.fingerprint import dataset_fingerprint
from training.encoders.spark_features import EncoderSource, make_predict_fn, post_frame
from training.errors import FeatureStoreError
from training.store.manifest import IMAGE_WEIGHTS_FILE, POSTS_DIR, StoreManifest
from training.store.pack import FLAGS, pack_store

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


def describe_encoders(source: EncoderSource, store: Path) -> dict[str, Any]:
    """The manifest's encoder fields for ``source``; copies trained image weights into the store."""
    if source.model_dir is not None:  # the folder says it all: no encoder is loaded in the driver
        from training.model_meta import read_model_meta

        folder = Path(source.model_dir)
        meta = read_model_meta(folder)
        configs = {m: json.loads((folder / f"{m}_encoder.json").read_text()) for m in ("text", "image")}
        weights = folder / IMAGE_WEIGHTS_FILE
        if weights.is_file():
            shutil.copyfile(weights, store / IMAGE_WEIGHTS_FILE)
        return {
            "modalities": tuple(meta["modalities"]),
            "dims": {m: int(configs[m]["dim"]) for m in meta["modalities"]},
            "text": configs["text"]["config"],
            "image": configs["image"]["config"],
            "image_weights": weights.is_file(),
            "source_model": meta["version"],
        }
    from safetensors.torch import save_file

    from training.encoders.image import ImageEncoder
    from training.encoders.text import TextEncoder

    if source.image is not None and source.image.backbone == "compact_cnn":
        raise FeatureStoreError(
            "the compact CNN is trained by `scout train`; embed with that model's encoders (--model DIR) "
            "or name a pretrained backbone"
        )
    text = TextEncoder(source.text, device="cpu") if source.text else None
    image = ImageEncoder(source.image, device="cpu") if source.image else None
    state = image.state_dict() if image is not None and source.image.finetune_blocks else {}  # type: ignore[union-attr]
    if state:
        save_file({k: v.contiguous() for k, v in state.items()}, str(store / IMAGE_WEIGHTS_FILE))
    modalities = tuple(m for m, enc in (("image", image), ("text", text)) if enc is not None)
    return {
        "modalities": modalities,
        "dims": {m: enc.dim for m, enc in (("image", image), ("text", text)) if enc is not None},
        "text": text.config.to_dict() if text else None,
        "image": image.config.to_dict() if image else None,
        "image_weights": bool(state),
        "source_model": None,
    }


def write_store(
    spark: SparkSession,
    dataset: str | Path,
    source: EncoderSource,
    out: str | Path,
    buckets: int | None = None,
    batch_size: int = 64,
) -> StoreManifest:
    """Embed every post of ``dataset`` into the store at ``out`` (replaced) and return its manifest.
    ``buckets`` (default: twice the session's parallelism) is also the number of Spark tasks that
    embed: one per bucket, each sorting its rows (spilling to disk as needed)."""
    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    if buckets is None:
        buckets = 2 * spark.sparkContext.defaultParallelism
    if buckets < 1:
        raise FeatureStoreError(f"a store needs at least one bucket, got {buckets}")
    store = Path(out)
    if store.exists():
        shutil.rmtree(store)
    store.mkdir(parents=True)
    encoders = describe_encoders(source, store)
    embed = predict_batch_udf(
        make_predict_fn(source), return_type=T.ArrayType(T.FloatType()), batch_size=batch_size
    )
    frame = (
        post_frame(spark, dataset)
        .withColumn("bucket", F.pmod(F.xxhash64("influencer"), F.lit(buckets)).cast("int"))
        .repartition(buckets, "bucket")
        .select(
            "bucket",
            "influencer",
            "post_id",
            "ts",
            *FLAGS,
            embed("text", "image").alias("features"),
        )
        # sorted last, so the writer (which needs rows grouped by bucket) keeps this order
        .sortWithinPartitions("bucket", "influencer", "ts", "post_id")
        .withColumn("ts", F.col("ts").cast("long"))
    )
    frame.write.partitionBy("bucket").mode("overwrite").parquet(str(store / POSTS_DIR))
    posts, influencers = pack_store(store, buckets, sum(encoders["dims"].values()))
    manifest = StoreManifest(
        dataset=dataset_fingerprint([Path(dataset)]),
        buckets=buckets,
        posts=posts,
        influencers=influencers,
        **encoders,
    )
    manifest.write(store)
    log.info(
        "feature store %s: %d posts of %d influencers, %d features",
        store,
        posts,
        influencers,
        manifest.feature_dim,
    )
    return manifest
