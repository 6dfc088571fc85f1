"""The per-influencer state stage of the job, on the driver, once per micro-batch for all influencers.

    stage = StateStage(StateStore(path), model, StateConfig(tau_seconds, top_k))
    step = stage.fold(live_posts)      # live_posts: the batch's embedded posts (pandas, embed's columns)
    step.profiles                      # one profile row per updated influencer (PROFILE_COLUMNS)
    stage.commit(batch_id, step)       # after the sinks have flushed: states + batch id, one transaction

``fold`` gathers the stored states of the G influencers the batch touches (one store query), folds
its B posts into them with one segmented online-softmax update and one top-k sort
(streaming.state.fold), classifies the G embeddings in one model call and builds the G profile rows,
each with its pooled text vector (topic search), its engagement figures (likes, comments, posts
per week; streaming.state.engagement) and its sponsorship figures (disclosed and estimated
undisclosed shares, brands, likely-undisclosed posts; streaming.state.sponsorship), and the rows of
the batch's flagged posts (``step.undisclosed``: undisclosed, scored over the threshold).
Nothing is written until ``commit``: a batch that fails before it leaves the store as it was, and
the replayed batch folds the same posts into the same states again.

Why not Spark's own state operator: ``transformWithStateInPandas`` calls Python once per influencer
and makes a state-server round trip per get and put (~15-20 ms per updated influencer measured on a
2-core machine); here the cost is per batch, with O(B H) math (README, "The state stage").
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from streaming.errors import StateStoreError
from streaming.job.sinks.base import PROFILE
from streaming.limits import TRIGGER_POSTS_MAX
from streaming.state import online_softmax as attention
from streaming.state.engagement import Engagement, engagement
from streaming.state.fold import FoldedBatch, PostBatch, StateBatch, fold_batch
from streaming.state.sponsorship import Sponsorship, flagged, post_brands, sponsorship
from streaming.state.store import StateStore
from streaming.text_space import text_dim

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProfileColumns:
    """The profile rows of one batch, column by column (G influencers); what the sinks read."""

    kind: str  # PROFILE (streaming.job.sinks.base splits a batch's rows by kind)
    influencer: list[str]
    category: np.ndarray  # (G,) labels
    previous_category: list[str | None]  # the last published one, None for a new influencer
    probabilities: list[np.ndarray]  # G arrays (C,) float64
    embedding: list[np.ndarray]  # G arrays (H,)
    post_count: np.ndarray  # (G,)
    top_posts: list[list[dict[str, Any]]]  # the profile event's top_posts items
    trigger_posts: list[list[str]]  # the post ids of this batch, the latest TRIGGER_POSTS_MAX
    event_time: pd.DatetimeIndex  # (G,) the latest event time of each influencer's posts
    processing_time: pd.Timestamp
    model_version: str
    text_vector: list[np.ndarray]  # G arrays (T,) float64, the pooled text features (T = 0: none)
    engagement: list[Engagement]
    sponsorship: list[Sponsorship]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({column: getattr(self, column) for column in PROFILE_COLUMNS})


PROFILE_COLUMNS: tuple[str, ...] = tuple(column.name for column in fields(ProfileColumns))


@dataclass(frozen=True)
class StateConfig:
    tau_seconds: float | None = None
    top_k: int = 5
    undisclosed_threshold: float = 0.5  # sponsorship.undisclosed_threshold
    likely_k: int = 5  # sponsorship.top_k_posts


# The rows of the flagged posts of a batch (the influencer-undisclosed sink reads them).
UNDISCLOSED_COLUMNS: tuple[str, ...] = (
    "influencer", "post_id", "probability", "brands", "event_time", "processing_time", "model_version",
    "threshold",
)  # fmt: skip


@dataclass(frozen=True)
class FoldStep:
    """A folded, not yet committed batch."""

    profiles: pd.DataFrame  # PROFILE_COLUMNS, one row per updated influencer
    states: StateBatch  # the new states, to commit
    added: int  # influencers seen for the first time
    posts: int
    seconds: float  # fold time (store read, update, classify, rows)
    undisclosed: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(UNDISCLOSED_COLUMNS)))


def _floats(live: pd.DataFrame, column: str) -> np.ndarray:
    """(B,) float64 likes, comments or sponsored probabilities, NaN where a post has none (or the frame
    has no such column)."""
    if column not in live.columns:
        return np.full(len(live), np.nan)
    return pd.to_numeric(live[column], errors="coerce").to_numpy(np.float64, na_value=np.nan)


def _strings(value: Any) -> tuple[str, ...]:
    """A list column's value (a list or an array from Arrow, None when absent) as a tuple."""
    return () if value is None else tuple(value)


def _epoch_ns(ts: pd.Series) -> np.ndarray:
    """Timestamps (tz-aware, or naive UTC as the session time zone is UTC) -> (n,) int64 Unix ns."""
    return pd.DatetimeIndex(ts).as_unit("ns").asi8


class StateStage:
    """Folds each micro-batch's posts into the store's influencer states and classifies them."""

    def __init__(self, store: StateStore, model: Any, config: StateConfig) -> None:
        self.store = store
        self.model = model  # training.model_dir.ScoutModel: classify, labels, version, hidden_dim
        self.config = config
        self.text_dim = text_dim(model)

    def already_committed(self, batch_id: int) -> bool:
        """True for a batch the store holds; StateStoreError when Spark is past what the store holds."""
        last = self.store.last_batch_id
        if batch_id > last + 1:
            raise StateStoreError(
                f"Spark's checkpoint is at batch {batch_id} but the state store {self.store.path} holds "
                f"batches through {last} only (was it deleted or replaced?); start the job on a fresh "
                "spark.checkpoint_dir (it replays `posts` from the topic's retention)"
            )
        return batch_id <= last

    def fold(self, live: pd.DataFrame) -> FoldStep:
        """Embedded posts (influencer, post_id, ts, caption, image_uri, h, score, source_partition,
        source_offset, batch_time; text, likes, comments when there) -> profile rows and new states."""
        started = time.perf_counter()
        if not len(live):
            empty = StateBatch.new((), self.model.hidden_dim, self.text_dim)
            return FoldStep(pd.DataFrame(columns=list(PROFILE_COLUMNS)), empty, 0, 0, 0.0)
        ts_ns = _epoch_ns(live["ts"])  # (B,)
        names, segment = np.unique(live["influencer"].to_numpy(str), return_inverse=True)  # (G,), (B,)
        # by influencer, then event time, then position in the topic: the same order however batched
        order = np.lexsort(
            (live["source_offset"].to_numpy(), live["source_partition"].to_numpy(), ts_ns, segment)
        )
        segment, ts_ns = segment[order], ts_ns[order]
        post_ids = live["post_id"].to_numpy(str)[order]
        posts = PostBatch(
            segment=segment.astype(np.int64),
            scores=live["score"].to_numpy(np.float64)[order],
            h=np.stack(live["h"].to_numpy()[order]),  # (B, H) float32
            ts_seconds=ts_ns / 1e9,
            post_id=post_ids,
            image_uri=live["image_uri"].to_numpy()[order].tolist(),
            caption=live["caption"].to_numpy()[order].tolist(),
            text=self._texts(live)[order],
            likes=_floats(live, "likes")[order],
            comments=_floats(live, "comments")[order],
            **self._sponsorship_columns(live, order),
        )
        prior = self.store.read(names.tolist(), self.model.hidden_dim, self.text_dim)
        config = self.config
        folded = fold_batch(prior, posts, config.tau_seconds, config.top_k,
                            threshold=config.undisclosed_threshold, likely_k=config.likely_k)  # fmt: skip
        batch_time = live["batch_time"].iloc[0]
        profiles, states = self._classified(folded, prior, posts, ts_ns, batch_time)
        added = int((prior.n == 0).sum())
        undisclosed = self._undisclosed(states.names, posts, ts_ns, batch_time)
        return FoldStep(profiles, states, added, len(live), time.perf_counter() - started, undisclosed)

    def _sponsorship_columns(self, live: pd.DataFrame, order: np.ndarray) -> dict[str, Any]:
        """PostBatch's disclosed (B,), probability (B,) and brands (B tuples, empty for the posts whose
        brands do not count: neither disclosed nor flagged), in ``order``."""
        b = len(live)
        disclosed = (
            live["disclosed"].astype("boolean").fillna(False).to_numpy(bool)[order]
            if "disclosed" in live
            else np.zeros(b, bool)
        )
        probability = _floats(live, "sponsor_prob")[order]
        counted = np.flatnonzero(
            disclosed | flagged(disclosed, probability, self.config.undisclosed_threshold)
        )
        brands: list[tuple[str, ...]] = [()] * b
        if counted.size:
            sponsors, mentions = (
                live[column].to_numpy()[order] if column in live else np.full(b, None)
                for column in ("sponsors", "mentions")
            )
            for i in counted.tolist():  # the few paid-looking posts only
                brands[i] = post_brands(_strings(sponsors[i]), _strings(mentions[i]))
        return {"disclosed": disclosed, "probability": probability, "brands": brands}

    def _undisclosed(
        self, names: tuple[str, ...], posts: PostBatch, ts_ns: np.ndarray, batch_time: Any
    ) -> pd.DataFrame:
        """One row per flagged post of the batch (UNDISCLOSED_COLUMNS)."""
        rows = np.flatnonzero(flagged(posts.disclosed, posts.probability, self.config.undisclosed_threshold))
        return pd.DataFrame(
            {
                "influencer": np.asarray(names, dtype=object)[posts.segment[rows]],
                "post_id": posts.post_id[rows],
                "probability": posts.probability[rows],
                "brands": [posts.brands[i] for i in rows.tolist()],
                "event_time": pd.to_datetime(ts_ns[rows], utc=True),
                "processing_time": pd.Timestamp(batch_time),
                "model_version": self.model.version,
                "threshold": self.config.undisclosed_threshold,
            },
            columns=list(UNDISCLOSED_COLUMNS),
        )

    def _texts(self, live: pd.DataFrame) -> np.ndarray:
        """(B, T) text features of the posts; zeros when the frame has none (T = 0 without text)."""
        if not self.text_dim or "text" not in live.columns:
            return np.zeros((len(live), self.text_dim), np.float32)
        return np.stack(live["text"].to_numpy())

    def _classified(
        self, folded: FoldedBatch, prior: StateBatch, posts: PostBatch, ts_ns: np.ndarray, batch_time: Any
    ) -> tuple[pd.DataFrame, StateBatch]:
        model, states = self.model, folded.states
        # calibrated by each influencer's post count when the model folder holds a calibration
        probs = model.classify(folded.embeddings.astype(np.float32), states.n).astype(np.float64)  # (G, C)
        labels = np.asarray(model.labels, dtype=object)
        category = labels[probs.argmax(axis=1)]  # (G,)
        starts = np.flatnonzero(np.r_[True, posts.segment[1:] != posts.segment[:-1]])  # (G,)
        top_posts = [
            attention.top_posts(attention.AttentionState(int(n), float(m), float(z), s, top))
            for n, m, z, s, top in zip(states.n, states.m, states.z, states.s, states.top, strict=True)
        ]
        per_influencer_ids = np.split(posts.post_id, starts[1:])  # G arrays, in event-time order
        profiles = ProfileColumns(
            kind=PROFILE,
            influencer=list(states.names),
            category=category,
            previous_category=list(prior.category),
            probabilities=list(probs),
            embedding=list(folded.embeddings),
            post_count=states.n,
            top_posts=top_posts,
            trigger_posts=[ids[-TRIGGER_POSTS_MAX:].tolist() for ids in per_influencer_ids],
            event_time=pd.to_datetime(np.maximum.reduceat(ts_ns, starts), utc=True),
            processing_time=pd.Timestamp(batch_time),
            model_version=model.version,
            text_vector=list(folded.texts),
            engagement=[engagement(int(n), tally) for n, tally in zip(states.n, states.tally, strict=True)],
            sponsorship=[
                sponsorship(int(n), tally, brands, likely, self.config.undisclosed_threshold)
                for n, tally, brands, likely in zip(
                    states.n, states.sponsor, states.brands, states.likely, strict=True
                )
            ],  # fmt: skip
        ).frame()
        return profiles, replace(states, category=tuple(category.tolist()))

    def commit(self, batch_id: int, step: FoldStep) -> float:
        """Write the batch's states with its id (after its outputs are durable); returns seconds."""
        started = time.perf_counter()
        self.store.commit(batch_id, step.states, step.added)
        return time.perf_counter() - started

    def close(self) -> None:
        self.store.close()
