"""The encoders as a Spark job's pieces, for copies too large for one process (the public 10 M posts).

Posts come from ``training.dataset.spark_reader`` (Spark parallelises over the metadata files);
``pyspark.ml.functions.predict_batch_udf`` embeds them in batches with the encoders loaded once
per Python worker (CUDA when the worker has it). ``training.store.write`` runs the job and writes
the feature store.

The encoders are a model folder's (``model_dir``: exactly the features that model serves on), or a
text encoder plus a pretrained image backbone (before any model exists). Each post's first image is
used; a post without a readable image gets the missing-image vector, and the count is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # (the driver of a model folder's job never imports torch)
    from pyspark.sql import Column, DataFrame, SparkSession

    from training.encoders.image import ImageEncoderConfig
    from training.encoders.text import TextEncoderConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncoderSource:
    """Where the workers get their encoders: a model folder, or text + pretrained image configs."""

    model_dir: str | None = None
    text: TextEncoderConfig | None = None
    image: ImageEncoderConfig | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        assert (self.model_dir is None) != (self.text is None and self.image is None), (
            "give either a model folder or encoder configs"
        )

    def load(self) -> Callable[[list[str], list[bytes | None]], np.ndarray]:
        """Build the encoders (in the worker) and return texts, images -> (n, F) float32."""
        if self.model_dir is not None:
            from training.interface import PostInput
            from training.model_dir import load_model

            model = load_model(self.model_dir, device=self.device)
            return lambda texts, images: model.encode(
                [PostInput(t, i) for t, i in zip(texts, images, strict=True)]
            )
        from training.encoders.image import ImageEncoder
        from training.encoders.text import TextEncoder

        text = TextEncoder(self.text, device=self.device) if self.text else None
        image = ImageEncoder(self.image, device=self.device) if self.image else None

        def encode(texts: list[str], images: list[bytes | None]) -> np.ndarray:
            blocks = ([image.encode(images)] if image else []) + ([text.encode(texts)] if text else [])
            return np.concatenate(blocks, axis=1)

        return encode


def _read_or_none(path: str) -> bytes | None:
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError:
        return None


def make_predict_fn(source: EncoderSource) -> Callable[[], Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """predict_batch_udf's factory: runs once per Python worker and caches the encoders."""

    def make() -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        from training.encoders.preprocess import decode_image
        from training.errors import ImageDecodeError

        encode = source.load()

        def predict(texts: np.ndarray, paths: np.ndarray) -> np.ndarray:
            images = [_read_or_none(str(p)) for p in paths]
            for k, data in enumerate(images):  # undecodable bytes count as a missing image
                if data is not None:
                    try:
                        decode_image(data, 8)
                    except ImageDecodeError:
                        images[k] = None
            missing = sum(1 for p, data in zip(paths, images, strict=True) if p and data is None)
            if missing:
                log.warning(
                    "%d images unreadable in this batch; those posts get the missing-image vector", missing
                )
            return encode([str(t) for t in texts], images)  # (n, F)

        return predict

    return make


def _texts(caption: pd.Series, hashtags: pd.Series, usertags: pd.Series) -> pd.Series:
    """post_text over a batch of rows (hashtags and usertags arrive as arrays or None)."""
    from training.encoders.post_text import post_text

    return pd.Series(
        [
            post_text(c or "", list(h) if h is not None else [], list(u) if u is not None else [])
            for c, h, u in zip(caption, hashtags, usertags, strict=True)
        ]
    )


def post_frame(spark: SparkSession, dataset: str | Path) -> DataFrame:
    """post_id, influencer, ts, text (as post_text builds it), image (first image path or ''), and
    the sponsorship flags of training.sponsorship.labels: tagged (the reader's ``sponsored``),
    marked (its ``disclosures`` not empty), mentioned (its ``mentions`` not empty)."""
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    from training.dataset.spark_reader import read_dataset_spark

    def some(name: str) -> Column:
        return F.coalesce(F.size(name) > 0, F.lit(False))

    text_of = pandas_udf(_texts, "string")  # type: ignore[call-overload]
    posts = read_dataset_spark(spark, dataset).posts
    return posts.select(
        "post_id",
        "influencer",
        "ts",
        text_of("caption", "hashtags", "usertags").alias("text"),
        F.coalesce(F.element_at("image_paths", 1), F.lit("")).alias("image"),
        F.coalesce(F.col("sponsored"), F.lit(False)).alias("tagged"),
        some("disclosures").alias("marked"),
        some("mentions").alias("mentioned"),
    )
