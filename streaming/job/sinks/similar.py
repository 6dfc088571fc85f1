"""FAISS upkeep and `influencer-similar` (compacted, key = influencer): top-k neighbours of changed ones.

The index is derived data. On start it is rebuilt from `influencer-profiles` (the latest profile of
each influencer built by this model version); each batch then upserts the changed influencers'
embeddings and publishes their k nearest neighbours (cosine of the pooled embeddings).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

import numpy as np

from streaming.config import KafkaSettings, SimilaritySettings
from streaming.events import SCHEMA_VERSION
from streaming.job.sinks.base import Sink, SinkBatch, iso_time
from streaming.job.sinks.producer import TopicWriter
from streaming.similarity.index import SimilarityIndex

log = logging.getLogger(__name__)


def latest_profiles(values: Iterable[bytes | None], model_version: str) -> dict[str, dict[str, Any]]:
    """Profile events in topic order -> influencer -> its latest event of ``model_version``."""
    latest: dict[str, dict[str, Any]] = {}
    for value in values:
        if value is None:
            continue
        try:
            event = json.loads(value)
        except ValueError:
            log.warning("skipping a profile record that is not JSON while rebuilding the index")
            continue
        if event.get("model_version") == model_version:
            latest[event["influencer"]] = event
    return latest


class SimilarSink(Sink):
    name = "similar"

    def __init__(
        self,
        kafka: KafkaSettings,
        similarity: SimilaritySettings,
        dim: int,
        k: int,
        model_version: str,
    ) -> None:
        self.k, self.model_version = k, model_version
        self.index = SimilarityIndex.from_settings(dim, similarity)
        self.categories: dict[str, str] = {}
        self._out = TopicWriter(kafka, kafka.topics.similar)

    def rebuild(self, profile_values: Iterable[bytes | None]) -> int:
        """Load the latest embeddings of every influencer (from `influencer-profiles` values)."""
        latest = latest_profiles(profile_values, self.model_version)
        if latest:
            ids = list(latest)
            vectors = np.array([latest[i]["embedding"] for i in ids], dtype=np.float32)  # (n, H)
            self.index.upsert(ids, vectors)
            self.categories.update({i: latest[i]["category"] for i in ids})
        log.info("similarity index rebuilt with %d influencers of model %s", len(latest), self.model_version)
        return len(latest)

    def write(self, batch: SinkBatch) -> int:
        profiles = batch.profiles
        if not len(profiles):
            return 0
        ids = profiles["influencer"].tolist()
        vectors = np.stack(profiles["embedding"].to_numpy()).astype(np.float32)  # (n, H)
        self.index.upsert(ids, vectors)
        self.categories.update(zip(ids, profiles["category"], strict=True))
        found = self.index.neighbours_of(ids, self.k)  # one batched search
        for row, neighbours in zip(profiles.itertuples(index=False), found, strict=True):
            self._out.send(
                row.influencer,
                {
                    "schema": SCHEMA_VERSION,
                    "influencer": row.influencer,
                    "neighbours": [
                        {"influencer": other, "score": float(score), "category": self.categories.get(other)}
                        for other, score in neighbours
                    ],
                    "model_version": self.model_version,
                    "event_time": iso_time(row.event_time),
                    "processing_time": iso_time(row.processing_time),
                    "batch_id": int(batch.batch_id),
                },
            )
        return len(profiles)

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        self._out.close()
