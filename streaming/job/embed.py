"""The embed stage: each valid post through the model's encoders and post step, on the executors.

    embedded = embed_posts(parsed, EmbedConfig.from_settings(settings.job))

Per post: the image bytes (decoded from ``image_b64``, or read from ``image_path``, the URI already
resolved inside ``job.image_roots`` by validation), the text (``post_text`` of caption, hashtags and
user tags), then ``EmbedPipeline`` (image + text towers, batched, CUDA when present) and the
profiler's post step: ``h`` (H,), attention score ``s`` and post-category probabilities (C,).

Runs as ``pyspark.ml.functions.predict_batch_udf``: the model is loaded once per Python worker and
reused across micro-batches. A post whose image cannot be read or decoded becomes a dead letter of
stage ``embed`` (``dlq_reason`` set); rows rejected earlier pass through untouched (not embedded).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
from dataclasses import dataclass

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, FloatType, StringType, StructField, StructType

from streaming.config import JobSettings
from streaming.errors import EventValidationError

log = logging.getLogger(__name__)

# Dead-letter reasons of this stage (parse-stage reasons are streaming.validate.REASONS).
EMBED_REASONS: tuple[str, ...] = ("image_unreadable", "image_too_large", "image_undecodable")

EMBED_SCHEMA = StructType([
    StructField("h", ArrayType(FloatType())),  # (H,) projected post vector, zeros when not embedded
    StructField("score", FloatType()),  # attention score s
    StructField("post_probs", ArrayType(FloatType())),  # (C,) post-category probabilities
    StructField("embed_reason", StringType()),  # null, or one of EMBED_REASONS
    StructField("embed_detail", StringType()),
])
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class EmbedConfig:
    """What a Python worker needs to embed posts; plain values, shipped inside the UDF."""

    model_dir: str
    device: str = "auto"
    batch_size: int = 64
    precision: str = "fp32"
    max_image_bytes: int = 5_000_000
    # Rows handed to one predict call; the pipeline overlaps its batches inside a call.
    rows_per_call: int = 256

    @classmethod
    def from_settings(cls, job: JobSettings) -> EmbedConfig:
        return cls(
            model_dir=str(job.model_dir.resolve()),
            device=job.device,
            batch_size=job.embed_batch_size,
            precision=job.embed_precision,
            max_image_bytes=job.max_image_bytes,
            rows_per_call=job.embed_batch_size * 4,
        )


def load_image(image_b64: str | None, image_path: str | None, max_bytes: int) -> bytes:
    """The image file bytes of a validated post, or EventValidationError(image_unreadable|too_large)."""
    if image_b64 is not None:
        return base64.b64decode(_WHITESPACE.sub("", image_b64), validate=True)  # checked by validation
    if image_path is None:
        raise EventValidationError("image_unreadable", "the post has neither image_b64 nor an image path")
    try:
        with open(image_path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise EventValidationError("image_too_large", f"{image_path}: {size} bytes > {max_bytes}")
            return handle.read()
    except OSError as exc:
        why = f"cannot read {image_path}: {exc.strerror or exc}"
        raise EventValidationError("image_unreadable", why) from exc


class PostEmbedder:
    """The per-worker predict function: loads the model once, then embeds batches of rows."""

    def __init__(self, config: EmbedConfig) -> None:
        from training.encoders.gpu_pipeline import EmbedPipeline, PipelineConfig
        from training.model_dir import load_model

        self.config = config
        self.model = load_model(config.model_dir, config.device)
        self.pipeline = EmbedPipeline.from_model(
            self.model, PipelineConfig(batch_size=config.batch_size, precision=config.precision)  # type: ignore[arg-type]
        )
        self.hidden_dim = self.model.hidden_dim
        self.num_classes = len(self.model.labels)
        log.info("embedder for model %s on %s (pid %d)", self.model.version, self.model.device, os.getpid())

    def __call__(
        self,
        live: np.ndarray,
        caption: np.ndarray,
        hashtags_json: np.ndarray,
        usertags_json: np.ndarray,
        image_b64: np.ndarray,
        image_path: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """Columns of n rows -> EMBED_SCHEMA columns: h (n, H), score (n,), post_probs (n, C), reasons."""
        from training.encoders.text import post_text
        from training.interface import PostInput

        n = len(live)
        h = np.zeros((n, self.hidden_dim), np.float32)  # (n, H)
        score = np.zeros(n, np.float32)  # (n,)
        probs = np.zeros((n, self.num_classes), np.float32)  # (n, C)
        reason = np.full(n, None, dtype=object)
        detail = np.full(n, None, dtype=object)
        rows: list[int] = []
        posts: list[PostInput] = []
        for i in np.flatnonzero(live.astype(bool)):
            try:
                image = load_image(image_b64[i], image_path[i], self.config.max_image_bytes)
            except EventValidationError as exc:
                reason[i], detail[i] = exc.reason, exc.detail
                continue
            hashtags, usertags = json.loads(hashtags_json[i] or "[]"), json.loads(usertags_json[i] or "[]")
            text = post_text(caption[i] or "", hashtags, usertags)
            rows.append(int(i))
            posts.append(PostInput(text, image))
        if posts:
            result = self.pipeline.embed_batch(posts)
            assert result.step is not None, "the embed pipeline was built without the post step"
            index = np.asarray(rows)
            h[index], score[index], probs[index] = result.step.h, result.step.scores, result.step.post_probs
            for row, why in result.image_errors.items():
                reason[rows[row]], detail[rows[row]] = "image_undecodable", why
        return {"h": h, "score": score, "post_probs": probs, "embed_reason": reason, "embed_detail": detail}


def _make_predict_fn(config: EmbedConfig):  # -> () -> PostEmbedder, called once per Python worker
    def make() -> PostEmbedder:
        return PostEmbedder(config)

    return make


def embed_posts(parsed: DataFrame, config: EmbedConfig) -> DataFrame:
    """parse_posts' rows + ``h``, ``score``, ``post_probs``; ``dlq_reason``/``dlq_detail``/``dlq_stage``
    now also name embed-stage failures (``dlq_stage`` is "parse" or "embed", null for live rows)."""
    from pyspark.ml.functions import predict_batch_udf

    embed = predict_batch_udf(
        _make_predict_fn(config), return_type=EMBED_SCHEMA, batch_size=config.rows_per_call
    )
    live = F.col("dlq_reason").isNull()
    result = embed(
        live,
        F.col("caption"),
        F.to_json("hashtags"),
        F.to_json("usertags"),
        F.col("image_b64"),
        F.col("image_path"),
    )
    with_result = parsed.withColumn("_embed", result)
    failed = F.col("_embed.embed_reason").isNotNull()
    return with_result.select(
        *(c for c in parsed.columns if c not in ("dlq_reason", "dlq_detail", "value")),
        F.col("_embed.h").alias("h"),
        F.col("_embed.score").alias("score"),
        F.col("_embed.post_probs").alias("post_probs"),
        F.when(live & failed, F.lit("embed")).when(~live, F.lit("parse")).alias("dlq_stage"),
        F.coalesce("dlq_reason", "_embed.embed_reason").alias("dlq_reason"),
        F.coalesce("dlq_detail", "_embed.embed_detail").alias("dlq_detail"),
        # the original bytes travel on with dead letters only (parse must keep them for every row)
        F.when(~live | failed, F.col("value")).alias("value"),
    )
