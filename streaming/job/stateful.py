"""The per-influencer state stage: ``transformWithStateInPandas`` over the pure online-softmax state.

    profiles = update_profiles(embedded, StateConfig(model_dir, model_version, tau_seconds, top_k))

Rows are grouped by influencer (the Kafka key, so one influencer's posts arrive in order). For each
influencer with new posts in a micro-batch, ``ProfileProcessor`` folds them into the state kept in
the RocksDB state store (n, m, Z, S in float64, the top-k posts, model version; see
streaming.state.online_softmax), classifies the new embedding ``S / Z`` and emits one profile row
with the category before and after. Old posts are never read again.

Dead letters (from parse or embed) pass through the same operator and come out unchanged as rows of
kind ``dead_letter``, so that one foreachBatch sees every output of the batch (streaming.job.commit).
The state records the model version and tau it was built with; continuing it with another model or
another tau raises CheckpointMismatchError.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.streaming import StatefulProcessor, StatefulProcessorHandle
from pyspark.sql.streaming.stateful_processor import TimerValues

from streaming.errors import CheckpointMismatchError
from streaming.state import online_softmax as attention

log = logging.getLogger(__name__)

PROFILE = "profile"
DEAD_LETTER = "dead_letter"
# The state of one influencer: the attention state, then what was last published and the tau in use.
STATE_DDL = f"{attention.STATE_DDL}, category STRING, probabilities ARRAY<DOUBLE>, tau_seconds DOUBLE"
_STATE_WIDTH = len(attention.STATE_FIELDS)

# One output row: an updated influencer (kind "profile") or a passed-through dead letter.
OUTPUT_DDL = (
    "kind STRING, influencer STRING, category STRING, previous_category STRING, "
    "probabilities ARRAY<DOUBLE>, embedding ARRAY<DOUBLE>, post_count BIGINT, top_posts STRING, "
    "trigger_posts ARRAY<STRING>, event_time TIMESTAMP, processing_time TIMESTAMP, model_version STRING, "
    "dlq_stage STRING, dlq_reason STRING, dlq_detail STRING, key BINARY, value BINARY, "
    "source_topic STRING, source_partition INT, source_offset BIGINT, source_timestamp TIMESTAMP"
)
_DEAD_LETTER_COLUMNS = (
    "dlq_stage", "dlq_reason", "dlq_detail", "key", "value",
    "source_topic", "source_partition", "source_offset", "source_timestamp",
)  # fmt: skip
# Influencers are never empty (validation rejects that); dead letters without one group here.
NO_INFLUENCER = ""
_MODELS: dict[tuple[str, str], Any] = {}  # per Python worker: (model_dir, version) -> ScoutModel


@dataclass(frozen=True)
class StateConfig:
    model_dir: str
    model_version: str
    tau_seconds: float | None = None
    top_k: int = 5


def classifier(model_dir: str, version: str) -> Any:  # -> training.model_dir.ScoutModel
    """The model of this Python worker (loaded once; classification needs no encoder)."""
    model = _MODELS.get((model_dir, version))
    if model is None:
        import torch

        from training.model_dir import load_model

        torch.set_num_threads(1)  # one small MLP call per influencer: threads only add overhead
        model = load_model(model_dir, device="cpu")
        if model.version != version:
            raise CheckpointMismatchError(
                f"the model in {model_dir} is now version {model.version}, the job started with {version}; "
                "restart the job (a new model needs a new checkpoint)"
            )
        _MODELS[(model_dir, version)] = model
    return model


def _epoch_ns(ts: pd.Series) -> np.ndarray:
    """Timestamps (tz-aware, or naive UTC as the session time zone is UTC) -> (n,) int64 Unix ns."""
    return pd.DatetimeIndex(ts).as_unit("ns").asi8


class ProfileProcessor(StatefulProcessor):
    """Keyed by influencer: fold new posts into the state, classify, emit the profile row."""

    def __init__(self, config: StateConfig) -> None:
        self.config = config

    def init(self, handle: StatefulProcessorHandle) -> None:
        self._state = handle.getValueState("profile", STATE_DDL)

    def handleInputRows(
        self, key: Any, rows: Iterator[pd.DataFrame], timerValues: TimerValues
    ) -> Iterator[pd.DataFrame]:
        frame = pd.concat(list(rows), ignore_index=True)
        dead = frame["dlq_reason"].notna()
        if dead.any():
            yield _dead_letter_rows(frame[dead])
        live = frame[~dead]
        if len(live):
            yield self._update(str(key[0]), live)

    def close(self) -> None:
        pass

    def _stored(self) -> tuple[attention.AttentionState | None, str | None]:
        row = self._state.get()
        if row is None:
            return None, None
        state = attention.from_row(row[:_STATE_WIDTH])
        category, _, tau = row[_STATE_WIDTH:]
        if state.model_version != self.config.model_version:
            raise CheckpointMismatchError(
                f"the checkpoint holds state of model {state.model_version}, this job runs model "
                f"{self.config.model_version}; start the new model on a fresh checkpoint directory "
                "(it replays `posts` from the topic's retention)"
            )
        if tau != self.config.tau_seconds:
            raise CheckpointMismatchError(
                f"the checkpoint was built with tau_seconds={tau}, this job has {self.config.tau_seconds}; "
                "use the same job.tau_seconds or a fresh checkpoint directory"
            )
        return state, category

    def _update(self, influencer: str, live: pd.DataFrame) -> pd.DataFrame:
        # numpy, not pandas, per influencer: this runs once per updated influencer and batch
        ts_ns = _epoch_ns(live["ts"])  # (k,)
        # event time, then position in the topic: the same order whatever the batching
        order = np.lexsort((live["source_offset"].to_numpy(), live["source_partition"].to_numpy(), ts_ns))
        h = np.stack(live["h"].to_numpy()[order]).astype(np.float64)  # (k, H)
        scores = live["score"].to_numpy(np.float64)[order]  # (k,)
        post_ids = live["post_id"].to_numpy()[order]
        meta = [
            attention.PostMeta(post_id, uri, caption or "")
            for post_id, uri, caption in zip(
                post_ids, live["image_uri"].to_numpy()[order], live["caption"].to_numpy()[order], strict=True
            )
        ]
        config = self.config
        state, previous = self._stored()
        state = attention.update(
            state, scores, h, ts_ns[order] / 1e9, meta, config.tau_seconds, config.top_k,
            model_version=config.model_version,
        )  # fmt: skip
        e = attention.embedding(state)  # (H,) float64
        model = classifier(config.model_dir, config.model_version)
        probs = model.classify(e[None, :].astype(np.float32))[0].astype(np.float64)  # (C,)
        category = model.labels[int(np.argmax(probs))]
        self._state.update((*attention.to_row(state).values(), category, probs.tolist(), config.tau_seconds))
        row: dict[str, list[Any]] = {
            "kind": [PROFILE],
            "influencer": [influencer],
            "category": [category],
            "previous_category": [previous],
            "probabilities": [probs],
            "embedding": [e],
            "post_count": [state.n],
            "top_posts": [json.dumps(attention.top_posts(state))],
            "trigger_posts": [post_ids.tolist()],
            "event_time": [pd.Timestamp(int(ts_ns.max()), tz="UTC")],
            "processing_time": [pd.Timestamp(live["batch_time"].iloc[0])],
            "model_version": [config.model_version],
            **{name: [None] for name in _DEAD_LETTER_COLUMNS},
        }
        return pd.DataFrame(row)


def _dead_letter_rows(dead: pd.DataFrame) -> pd.DataFrame:
    out = dead[list(_DEAD_LETTER_COLUMNS)].copy()
    out.insert(0, "kind", DEAD_LETTER)
    for name in (
        "influencer",
        "category",
        "previous_category",
        "probabilities",
        "embedding",
        "post_count",
        "top_posts",
        "trigger_posts",
        "event_time",
        "processing_time",
        "model_version",
    ):
        out[name] = None
    return out


def update_profiles(embedded: DataFrame, config: StateConfig) -> DataFrame:
    """embed_posts' rows -> OUTPUT_DDL rows: one profile per updated influencer, plus dead letters."""
    grouped = embedded.select(
        F.coalesce(F.col("influencer"), F.lit(NO_INFLUENCER)).alias("route"),
        "post_id", "ts", "caption", "image_uri", "h", "score", "batch_time", *_DEAD_LETTER_COLUMNS,
    ).groupBy("route")  # fmt: skip
    return grouped.transformWithStateInPandas(
        statefulProcessor=ProfileProcessor(config),
        outputStructType=OUTPUT_DDL,
        outputMode="Update",
        timeMode="None",
    )
