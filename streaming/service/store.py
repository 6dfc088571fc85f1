"""The service's in-memory view of ``influencer-profiles``: profiles by name plus similarity indexes.

Pure (no Kafka, no HTTP): the materialiser feeds it decoded profile events, the routers read it.
Embeddings of different model versions live in different vector spaces, so there is one similarity
index per model version; a look-up only ever compares influencers profiled by the same model.
One lock guards everything: writes come from the materialiser thread, reads from request handlers.
"""

from __future__ import annotations

import bisect
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, Protocol

import numpy as np
from jsonschema import Draft202012Validator

from streaming.events import load_schema

log = logging.getLogger(__name__)

SortKey = Literal["confidence", "post_count", "name", "updated"]
SORT_KEYS: tuple[str, ...] = ("confidence", "post_count", "name", "updated")


class VectorIndex(Protocol):
    """What the store needs of streaming.similarity.index.SimilarityIndex."""

    def upsert(self, ids: Sequence[str], vectors: np.ndarray) -> None: ...
    def remove(self, ids: Sequence[str]) -> None: ...
    def search(self, vectors: np.ndarray, k: int) -> list[list[tuple[str, float]]]: ...
    def neighbours(self, id: str, k: int) -> list[tuple[str, float]]: ...
    def __len__(self) -> int: ...


class RejectedEvent(ValueError):
    """A record on an output topic that is not a valid event; ``reason`` is a short label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Profile:
    """One influencer-profiles event, as served."""

    influencer: str
    category: str
    probabilities: Mapping[str, float]
    embedding: np.ndarray  # (H,) float32
    post_count: int
    top_posts: tuple[Mapping[str, Any], ...]
    model_version: str
    event_time: str
    processing_time: str
    batch_id: int

    @property
    def confidence(self) -> float:
        return float(self.probabilities.get(self.category, 0.0))


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(name))


def decode_event(value: bytes, schema: str) -> dict[str, Any]:
    """A record value checked against the event schema ``schema``, or RejectedEvent."""
    try:
        event = json.loads(value)
    except (UnicodeDecodeError, ValueError) as exc:
        raise RejectedEvent("bad_json", str(exc)[:200]) from exc
    error = next(iter(_validator(schema).iter_errors(event)), None)
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(event)"
        raise RejectedEvent("schema", f"{where}: {error.message[:200]}")
    return event


def profile_from_event(event: Mapping[str, Any]) -> Profile:
    """A Profile from a profile event already valid against profile.schema.json."""
    return Profile(
        influencer=event["influencer"],
        category=event["category"],
        probabilities=dict(event["probabilities"]),
        embedding=np.asarray(event["embedding"], dtype=np.float32),
        post_count=int(event["post_count"]),
        top_posts=tuple(event["top_posts"]),
        model_version=event["model_version"],
        event_time=event["event_time"],
        processing_time=event["processing_time"],
        batch_id=int(event["batch_id"]),
    )


class ProfileStore:
    """Profiles by influencer name, with one similarity index per model version."""

    def __init__(self, index_factory: Callable[[int], VectorIndex]) -> None:
        self._index_factory = index_factory
        self._profiles: dict[str, Profile] = {}
        self._names: list[tuple[str, str]] = []  # (casefolded name, name), sorted: prefix ranges
        self._by_category: dict[str, set[str]] = {}
        self._indexes: dict[str, VectorIndex] = {}
        self._lock = threading.RLock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._profiles)

    def index_size(self) -> int:
        with self._lock:
            return sum(len(index) for index in self._indexes.values())

    # -- writes ------------------------------------------------------------------------------

    def put(self, profile: Profile) -> None:
        """Insert or replace the influencer's profile (the latest event for a key wins)."""
        assert profile.embedding.ndim == 1, f"embedding must be (H,), got {profile.embedding.shape}"
        with self._lock:
            index = self._indexes.get(profile.model_version)
            if index is None:
                index = self._index_factory(profile.embedding.shape[0])
            # Raises SimilarityIndexError on a vector it cannot hold; nothing has changed then.
            index.upsert([profile.influencer], profile.embedding[None, :])  # (1, H)
            self._indexes[profile.model_version] = index
            old = self._profiles.get(profile.influencer)
            if old is not None and old.model_version != profile.model_version:
                self._drop_vector(old)
            if old is None:
                bisect.insort(self._names, (profile.influencer.casefold(), profile.influencer))
            else:
                self._by_category[old.category].discard(old.influencer)
            self._by_category.setdefault(profile.category, set()).add(profile.influencer)
            self._profiles[profile.influencer] = profile

    def remove(self, influencer: str) -> bool:
        """Forget an influencer (a tombstone on the compacted topic); False when unknown."""
        with self._lock:
            old = self._profiles.pop(influencer, None)
            if old is None:
                return False
            self._drop_vector(old)
            key = (influencer.casefold(), influencer)
            del self._names[bisect.bisect_left(self._names, key)]
            self._by_category[old.category].discard(influencer)
            return True

    def _drop_vector(self, profile: Profile) -> None:
        index = self._indexes[profile.model_version]
        index.remove([profile.influencer])
        if len(index) == 0:
            del self._indexes[profile.model_version]

    # -- reads -------------------------------------------------------------------------------

    def get(self, influencer: str) -> Profile | None:
        with self._lock:
            return self._profiles.get(influencer)

    def query(
        self,
        prefix: str = "",
        category: str | None = None,
        sort: SortKey = "confidence",
        descending: bool = True,
        offset: int = 0,
        limit: int = 20,
    ) -> tuple[int, list[Profile]]:
        """(number matching, one page of them): name prefix (case-insensitive) and category."""
        assert sort in SORT_KEYS, f"sort must be one of {SORT_KEYS}, got {sort!r}"
        needle = prefix.casefold()
        with self._lock:
            if needle:  # a range of the sorted names
                lo = bisect.bisect_left(self._names, (needle,))
                hi = bisect.bisect_left(self._names, (needle + "\U0010ffff",))
                matching = [self._profiles[name] for _, name in self._names[lo:hi]]
                if category is not None:
                    matching = [p for p in matching if p.category == category]
            elif category is not None:
                matching = [self._profiles[name] for name in self._by_category.get(category, ())]
            else:
                matching = list(self._profiles.values())
        keys: dict[str, Callable[[Profile], Any]] = {
            "confidence": lambda p: p.confidence,
            "post_count": lambda p: p.post_count,
            "name": lambda p: p.influencer.casefold(),
            "updated": lambda p: p.processing_time,
        }
        matching.sort(key=lambda p: p.influencer)  # ties in the sort key: by name, ascending
        matching.sort(key=keys[sort], reverse=descending)
        return len(matching), matching[offset : offset + limit]

    def categories(self) -> dict[str, int]:
        """Category -> influencers currently in it."""
        with self._lock:
            return {category: len(names) for category, names in sorted(self._by_category.items()) if names}

    def similar_to(self, influencer: str, k: int) -> list[tuple[Profile, float]] | None:
        """The k nearest influencers of the same model version (None when the name is unknown)."""
        with self._lock:
            profile = self._profiles.get(influencer)
            if profile is None:
                return None
            hits = self._indexes[profile.model_version].neighbours(influencer, k)
            return self._resolve(hits, exclude=influencer)[:k]

    def search(self, vector: np.ndarray, model_version: str, k: int) -> list[tuple[Profile, float]]:
        """The k influencers of ``model_version`` nearest to ``vector`` (H,)."""
        assert vector.ndim == 1, f"vector must be (H,), got {vector.shape}"
        with self._lock:
            index = self._indexes.get(model_version)
            if index is None or len(index) == 0:
                return []
            hits = index.search(vector[None, :].astype(np.float32), k)[0]
            return self._resolve(hits)[:k]

    def _resolve(
        self, hits: Sequence[tuple[str, float]], exclude: str | None = None
    ) -> list[tuple[Profile, float]]:
        out = []
        for name, score in hits:
            profile = self._profiles.get(name)
            if profile is not None and name != exclude:
                out.append((profile, float(score)))
        return out
