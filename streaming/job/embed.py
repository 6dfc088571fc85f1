"""The embed stage: each valid post through the model's encoders and post step, on the executors.

    embedded = parse_and_embed(read_posts(spark, settings), settings.job)

Per post: the image bytes (decoded from ``image_b64``, or read from ``image_path``, the URI already
resolved inside ``job.image_roots`` by validation), the text (``post_text`` of caption, hashtags and
user tags), then ``EmbedPipeline`` (image + text towers, batched, CUDA when present) and the
profiler's post step: ``h`` (H,), attention score ``s`` and post-category probabilities (C,), and the
text block of the features (``text``, (T,), the text encoder's output before the projection), which
the state pools into the influencer's text vector for topic search; with a model that has a sponsored
head (``ScoutModel.sponsorship``, training.sponsorship.head), ``sponsor_prob``: the probability that
the post is a paid one given that it carries no disclosure (the head's ``undisclosed_probability``,
over the same features), which the state reads for the undisclosed posts only; NaN without the head.

Runs in the same pandas UDF as validation (streaming.job.parse): the model is loaded once per Python
worker and reused across micro-batches. A post whose image cannot be read or decoded becomes a dead
letter of stage ``embed`` (``dlq_reason`` set); rows rejected by validation are not embedded.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, FloatType, StringType, StructField, StructType

from streaming.config import JobSettings
from streaming.errors import EventValidationError
from streaming.events.post_event import POST_COLUMNS, SOURCE_COLUMNS
from streaming.job.parse import PARSE_RESULT_SCHEMA, validate_values, with_source
from streaming.validate import ValidationLimits

log = logging.getLogger(__name__)

# Dead-letter reasons of this stage (parse-stage reasons are streaming.validate.REASONS).
EMBED_REASONS: tuple[str, ...] = ("image_unreadable", "image_too_large", "image_undecodable")

EMBED_SCHEMA = StructType(
    [
        StructField("h", ArrayType(FloatType())),  # (H,) projected post vector, zeros when not embedded
        StructField("score", FloatType()),  # attention score s
        StructField("post_probs", ArrayType(FloatType())),  # (C,) post-category probabilities
        StructField("text", ArrayType(FloatType())),  # (T,) text features (empty without text), zeros too
        StructField("sponsor_prob", FloatType()),  # P(paid | f, undisclosed) by the sponsored head, or NaN
        StructField("embed_reason", StringType()),  # null, or one of EMBED_REASONS
        StructField("embed_detail", StringType()),
    ]
)
PARSE_EMBED_SCHEMA = StructType(PARSE_RESULT_SCHEMA.fields + EMBED_SCHEMA.fields)
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class EmbedConfig:
    """What a Python worker needs to embed posts; plain values, shipped inside the UDF."""

    model_dir: str
    device: str = "auto"
    batch_size: int = 64
    precision: str = "fp32"
    decode: str = "gpu"
    host_decoder: str = "pil"
    max_image_bytes: int = 5_000_000

    @classmethod
    def from_settings(cls, job: JobSettings) -> EmbedConfig:
        return cls(
            model_dir=str(job.model_dir.resolve()),
            device=job.device,
            batch_size=job.embed_batch_size,
            precision=job.embed_precision,
            decode=job.embed_decode,
            host_decoder=job.embed_host_decoder,
            max_image_bytes=job.max_image_bytes,
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


def _tags(value: Any) -> list[str]:
    """Hashtags or user tags: a list (from validation) or its JSON text."""
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str) else list(value)


class PostEmbedder:
    """The embed step of one Python worker: loads the model once, then embeds batches of rows."""

    def __init__(self, config: EmbedConfig) -> None:
        from training.encoders.gpu_pipeline import EmbedPipeline, PipelineConfig
        from training.model_dir import load_model

        self.config = config
        self.model = load_model(config.model_dir, config.device)
        self.pipeline = EmbedPipeline.from_model(
            self.model,
            PipelineConfig(
                batch_size=config.batch_size,
                precision=config.precision,  # type: ignore[arg-type]
                decode=config.decode,  # type: ignore[arg-type]
                host_decoder=config.host_decoder,  # type: ignore[arg-type]
            ),
        )
        from streaming.text_space import text_dim

        self.hidden_dim = self.model.hidden_dim
        self.text_dim = text_dim(self.model)
        self.num_classes = len(self.model.labels)
        self.sponsorship = self.model.sponsorship  # the sponsored head (training.sponsorship.head), or None
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
        """Columns of n rows -> EMBED_SCHEMA columns: h (n, H), score (n,), post_probs (n, C), text
        (n, T), sponsor_prob (n,), reasons."""
        from streaming.text_space import text_block
        from training.encoders.post_text import post_text
        from training.interface import PostInput

        n = len(live)
        h = np.zeros((n, self.hidden_dim), np.float32)  # (n, H)
        score = np.zeros(n, np.float32)  # (n,)
        probs = np.zeros((n, self.num_classes), np.float32)  # (n, C)
        text_features = np.zeros((n, self.text_dim), np.float32)  # (n, T)
        sponsor_prob = np.full(n, np.nan, np.float32)  # (n,)
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
            hashtags, usertags = _tags(hashtags_json[i]), _tags(usertags_json[i])
            text = post_text(caption[i] or "", hashtags, usertags)
            rows.append(int(i))
            posts.append(PostInput(text, image))
        if posts:
            result = self.pipeline.embed_batch(posts)
            assert result.step is not None, "the embed pipeline was built without the post step"
            index = np.asarray(rows)
            h[index], score[index], probs[index] = result.step.h, result.step.scores, result.step.post_probs
            text_features[index] = text_block(result.features, self.text_dim)
            if self.sponsorship is not None:
                sponsor_prob[index] = self.sponsorship.undisclosed_probability(result.features)  # (rows,)
            for row, why in result.image_errors.items():
                reason[rows[row]], detail[rows[row]] = "image_undecodable", why
        return {"h": h, "score": score, "post_probs": probs, "text": text_features,
                "sponsor_prob": sponsor_prob, "embed_reason": reason, "embed_detail": detail}  # fmt: skip


_EMBEDDERS: dict[EmbedConfig, PostEmbedder] = {}  # per Python worker: loaded once, reused by every batch


def worker_embedder(config: EmbedConfig) -> PostEmbedder:
    """This Python worker's embedder for ``config`` (the model loads on the first call only)."""
    embedder = _EMBEDDERS.get(config)
    if embedder is None:
        embedder = _EMBEDDERS[config] = PostEmbedder(config)
    return embedder


def parse_embed_frame(values: pd.Series, limits: ValidationLimits, config: EmbedConfig) -> pd.DataFrame:
    """Raw Kafka values -> PARSE_EMBED_SCHEMA columns: validation, then the encoders on the valid rows."""
    parsed = validate_values(values, limits)
    live = parsed["dlq_reason"].isna().to_numpy()
    embedded = worker_embedder(config)(
        live,
        parsed["caption"].to_numpy(),
        parsed["hashtags"].to_numpy(),
        parsed["usertags"].to_numpy(),
        parsed["image_b64"].to_numpy(),
        parsed["image_path"].to_numpy(),
    )
    for name, column in embedded.items():
        parsed[name] = list(column) if column.ndim == 2 else column  # (n, H) -> n arrays
    return parsed


def _parse_embed_udf(limits: ValidationLimits, config: EmbedConfig):  # -> pandas UDF: binary -> struct
    @F.pandas_udf(PARSE_EMBED_SCHEMA)  # type: ignore[call-overload]
    def parse_embed(values: pd.Series) -> pd.DataFrame:
        return parse_embed_frame(values, limits, config)

    # Nondeterministic, so that the optimiser never evaluates it twice (once per use of a field).
    return parse_embed.asNondeterministic()


def parse_and_embed(raw: DataFrame, job: JobSettings) -> DataFrame:
    """Kafka rows -> the posts' columns, ``h``, ``score``, ``post_probs``, the source columns and, for
    rejected rows, ``dlq_stage`` ("parse" or "embed"), ``dlq_reason``, ``dlq_detail`` and the
    original ``value`` (null for live rows).

    Validation and the encoders run in one Python UDF, so every Python worker of the job does the
    same work and holds the model: a worker Spark hands the next batch is a warm one (with two
    UDFs, a worker that had only validated would load the model inside a batch).
    """
    udf = _parse_embed_udf(ValidationLimits.from_settings(job), EmbedConfig.from_settings(job))
    result = with_source(raw, udf(F.col("value")).alias("_result"))
    rejected = F.col("_result.dlq_reason").isNotNull()
    failed = F.col("_result.embed_reason").isNotNull()
    return result.select(
        *(F.col(f"_result.{name}").alias(name) for name in POST_COLUMNS),
        *(F.col(name) for name in SOURCE_COLUMNS if name != "value"),
        F.col("_result.h").alias("h"),
        F.col("_result.score").alias("score"),
        F.col("_result.post_probs").alias("post_probs"),
        F.col("_result.text").alias("text"),
        F.col("_result.sponsor_prob").alias("sponsor_prob"),
        F.when(rejected, F.lit("parse")).when(failed, F.lit("embed")).alias("dlq_stage"),
        F.coalesce("_result.dlq_reason", "_result.embed_reason").alias("dlq_reason"),
        F.coalesce("_result.dlq_detail", "_result.embed_detail").alias("dlq_detail"),
        F.when(rejected | failed, F.col("value")).alias("value"),  # the original bytes of dead letters
    )
