"""The service's in-memory view of ``influencer-profiles``: profiles by name plus similarity indexes.

Pure (no Kafka, no HTTP): the materialiser feeds it decoded profile events and follower counts, the
routers read it. Embeddings of different model versions live in different vector spaces, so there is
one similarity index (and one text index, for topic search) per model version.

One model at a time: the store serves the profiles of one model version, the *serving* version:
the one pinned (the service's configured model), or else the version of the most recently processed
profile (the model the job runs now). Profiles of other versions stay held (a compacted topic may
carry a previous model's influencers) but are left out of every read: get, lists, categories,
search and similarity; ``serving()`` says which version is served and how many are held back.
One lock guards everything: writes come from the materialiser thread, reads from request handlers.
"""

from __future__ import annotations

import bisect
import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Protocol

import numpy as np
from jsonschema import Draft202012Validator

from streaming.events import load_schema
from streaming.service.filters import SORT_KEYS, Figures, Filters, SortKey, sort_value
from streaming.state.engagement import Engagement
from streaming.state.sponsorship import LikelyPost, Sponsorship

log = logging.getLogger(__name__)

NO_FIGURES = Figures(None, None, None, None, None)
FIGURE_SORT_KEYS = frozenset(Figures.__slots__)

__all__ = ["SORT_KEYS", "Figures", "Filters", "Profile", "ProfileStore", "SortKey"]


class VectorIndex(Protocol):
    """What the store needs of streaming.similarity.index.SimilarityIndex."""

    def upsert(self, ids: Sequence[str], vectors: np.ndarray) -> None: ...
    def remove(self, ids: Sequence[str]) -> None: ...
    def search(self, vectors: np.ndarray, k: int) -> list[list[tuple[str, float]]]: ...
    def neighbours(self, id: str, k: int) -> list[tuple[str, float]]: ...
    def vector(self, id: str) -> np.ndarray: ...
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
    text_vector: np.ndarray | None = None  # (T,) float32, the pooled text features
    engagement: Engagement | None = None
    sponsorship: Sponsorship | None = None

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


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def engagement_from_event(figures: Mapping[str, Any] | None) -> Engagement | None:
    if figures is None:
        return None
    return Engagement(
        likes_mean=figures["likes_mean"],
        comments_mean=figures["comments_mean"],
        posts_per_week=float(figures["posts_per_week"]),
        first_post_s=_seconds(figures["first_post"]),
        last_post_s=_seconds(figures["last_post"]),
    )


def sponsorship_from_event(figures: Mapping[str, Any] | None) -> Sponsorship | None:
    if figures is None:
        return None
    return Sponsorship(
        disclosed_posts=int(figures["disclosed_posts"]),
        disclosed_share=float(figures["disclosed_share"]),
        estimated_undisclosed=figures["estimated_undisclosed"],
        estimated_undisclosed_share=figures["estimated_undisclosed_share"],
        sponsored_share=float(figures["sponsored_share"]),
        flagged_posts=figures["flagged_posts"],
        threshold=float(figures["threshold"]),
        brands=tuple((b["brand"], int(b["posts"]), int(b["disclosed"])) for b in figures["brands"]),
        likely=tuple(
            LikelyPost(p["post_id"], float(p["probability"]), _seconds(p["ts"]), tuple(p["brands"]))
            for p in figures["likely_undisclosed"]
        ),
    )


def profile_from_event(event: Mapping[str, Any]) -> Profile:
    """A Profile from a profile event already valid against profile.schema.json."""
    text = event.get("text_vector")
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
        text_vector=None if text is None else np.asarray(text, dtype=np.float32),
        engagement=engagement_from_event(event.get("engagement")),
        sponsorship=sponsorship_from_event(event.get("sponsorship")),
    )


class ProfileStore:
    """Profiles by influencer name, with one similarity and one text index per model version."""

    def __init__(
        self, index_factory: Callable[[int], VectorIndex], pinned_version: str | None = None
    ) -> None:
        self._index_factory = index_factory
        self.pinned_version = pinned_version
        self._profiles: dict[str, Profile] = {}
        self._names: list[tuple[str, str]] = []  # (casefolded name, name), sorted: prefix ranges
        self._by_category: dict[str, set[str]] = {}
        self._indexes: dict[str, VectorIndex] = {}
        self._text_indexes: dict[str, VectorIndex] = {}
        self._followers: dict[str, int] = {}
        self._newest: tuple[str, str] | None = None  # (processing time, model version) of the newest
        self._lock = threading.RLock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._profiles)

    def index_size(self) -> int:
        with self._lock:
            return sum(len(index) for index in self._indexes.values())

    @property
    def serving_version(self) -> str | None:
        """The model version served: the pinned one, else the newest profile's (None when empty)."""
        with self._lock:
            if self.pinned_version is not None:
                return self.pinned_version
            return None if self._newest is None else self._newest[1]

    def serving(self) -> tuple[str | None, int]:
        """(the served model version, how many held profiles of other versions are left out)."""
        with self._lock:
            version = self.serving_version
            return version, sum(1 for p in self._profiles.values() if p.model_version != version)

    # -- writes ------------------------------------------------------------------------------

    def put(self, profile: Profile) -> None:
        """Insert or replace the influencer's profile (the latest event for a key wins)."""
        assert profile.embedding.ndim == 1, f"embedding must be (H,), got {profile.embedding.shape}"
        with self._lock:
            version = profile.model_version
            index = self._indexes.get(version)
            if index is None:
                index = self._index_factory(profile.embedding.shape[0])
            text_index = self._text_indexes.get(version)
            if profile.text_vector is not None and text_index is None:
                text_index = self._index_factory(profile.text_vector.shape[0])
            # Raises SimilarityIndexError on a vector it cannot hold; nothing has changed then.
            if text_index is not None and profile.text_vector is not None:
                text_index.upsert([profile.influencer], profile.text_vector[None, :])  # (1, T)
            index.upsert([profile.influencer], profile.embedding[None, :])  # (1, H)
            self._indexes[version] = index
            if text_index is not None:
                self._text_indexes[version] = text_index
            old = self._profiles.get(profile.influencer)
            if old is not None and (old.model_version != version or profile.text_vector is None):
                self._drop_vector(old, text_only=old.model_version == version)
            if old is None:
                bisect.insort(self._names, (profile.influencer.casefold(), profile.influencer))
            else:
                self._by_category[old.category].discard(old.influencer)
            self._by_category.setdefault(profile.category, set()).add(profile.influencer)
            self._profiles[profile.influencer] = profile
            if self._newest is None or profile.processing_time > self._newest[0]:
                self._newest = (profile.processing_time, version)

    def set_followers(self, influencer: str, followers: int | None) -> None:
        """The influencer's follower count (None: a tombstone, no longer known)."""
        with self._lock:
            if followers is None:
                self._followers.pop(influencer, None)
            else:
                self._followers[influencer] = followers

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

    def _drop_vector(self, profile: Profile, text_only: bool = False) -> None:
        kinds = (self._text_indexes,) if text_only else (self._indexes, self._text_indexes)
        for indexes in kinds:
            index = indexes.get(profile.model_version)
            if index is None:
                continue
            index.remove([profile.influencer])
            if len(index) == 0:
                del indexes[profile.model_version]

    # -- reads -------------------------------------------------------------------------------

    def get(self, influencer: str) -> Profile | None:
        """The served profile of ``influencer`` (None when unknown or of another model version)."""
        with self._lock:
            profile = self._profiles.get(influencer)
            return profile if profile is not None and profile.model_version == self.serving_version else None

    def figures(self, profile: Profile) -> Figures:
        """Reach and engagement of a profile, with its followers as known now."""
        with self._lock:
            return self._figures(profile)

    def query(
        self,
        prefix: str = "",
        category: str | None = None,
        sort: SortKey = "confidence",
        descending: bool = True,
        offset: int = 0,
        limit: int = 20,
        where: Filters | None = None,
    ) -> tuple[int, list[Profile]]:
        """(number matching, one page of them): name prefix (case-insensitive), category and the
        conditions of ``where``, served version only. Influencers without the sorted-by figure last."""
        assert sort in SORT_KEYS, f"sort must be one of {SORT_KEYS}, got {sort!r}"
        needle = prefix.casefold()
        with self._lock:
            version = self.serving_version
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
            # figures only where they are read: a figure to sort by, or a condition on one
            if sort in FIGURE_SORT_KEYS or (where is not None and where.on_figures):
                rows = [(p, self._figures(p)) for p in matching if p.model_version == version]
            else:
                rows = [(p, NO_FIGURES) for p in matching if p.model_version == version]
        if where is not None:
            rows = [(p, f) for p, f in rows if where.admits(p.category, p.post_count, f, p.sponsorship)]
        value = sort_value(sort)
        known = [(p, f) for p, f in rows if value(p, f) is not None]
        unknown = sorted((p for p, f in rows if value(p, f) is None), key=lambda p: p.influencer)
        known.sort(key=lambda row: row[0].influencer)  # ties in the sort key: by name, ascending
        known.sort(key=lambda row: value(*row), reverse=descending)
        ordered = [p for p, _ in known] + unknown
        return len(ordered), ordered[offset : offset + limit]

    def _figures(self, profile: Profile) -> Figures:
        return Figures.of(profile.engagement, self._followers.get(profile.influencer))

    def _admits(self, where: Filters, profile: Profile) -> bool:
        return where.admits(profile.category, profile.post_count, self._figures(profile), profile.sponsorship)

    def categories(self) -> dict[str, int]:
        """Category -> influencers of the served version currently in it."""
        with self._lock:
            version = self.serving_version
            counts = {
                category: sum(1 for name in names if self._profiles[name].model_version == version)
                for category, names in sorted(self._by_category.items())
            }
        return {category: count for category, count in counts.items() if count}

    def similar_to(
        self, influencer: str, k: int, where: Filters | None = None
    ) -> list[tuple[Profile, float]] | None:
        """The k nearest served influencers (None when the name is not served)."""
        with self._lock:
            profile = self.get(influencer)
            if profile is None:
                return None
            index = self._indexes[profile.model_version]
            return self._nearest(index, index.vector(influencer), k, {influencer}, where)

    def search(
        self, vector: np.ndarray, model_version: str, k: int, where: Filters | None = None
    ) -> list[tuple[Profile, float]]:
        """The k served influencers nearest to ``vector`` (H,) (none unless ``model_version`` is served)."""
        assert vector.ndim == 1, f"vector must be (H,), got {vector.shape}"
        with self._lock:
            index = self._indexes.get(model_version)
            if index is None or model_version != self.serving_version:
                return []
            return self._nearest(index, vector, k, set(), where)

    def search_text(
        self, vector: np.ndarray, model_version: str, k: int, where: Filters | None = None
    ) -> list[tuple[Profile, float]]:
        """Topic search: the k served influencers whose pooled text vectors are nearest to ``vector`` (T,)."""
        assert vector.ndim == 1, f"vector must be (T,), got {vector.shape}"
        with self._lock:
            index = self._text_indexes.get(model_version)
            if index is None or model_version != self.serving_version:
                return []
            return self._nearest(index, vector, k, set(), where)

    def roster(
        self, names: Sequence[str], k: int, where: Filters | None = None
    ) -> tuple[list[str], list[tuple[Profile, float]]]:
        """Lookalikes of a roster: (the names not served, the k served influencers nearest to the
        roster as a whole, its members excluded). The roster's vector is the normalised mean of its
        members' unit embeddings: the direction closest on average (in cosine) to all of them."""
        with self._lock:
            members = [name for name in dict.fromkeys(names) if self.get(name) is not None]
            missing = [name for name in dict.fromkeys(names) if name not in members]
            if not members:
                return missing, []
            index = self._indexes[self._profiles[members[0]].model_version]
            centre = np.mean([index.vector(name) for name in members], axis=0)  # (H,)
            return missing, self._nearest(index, centre, k, set(names), where)

    def _nearest(
        self, index: VectorIndex, vector: np.ndarray, k: int, exclude: set[str], where: Filters | None
    ) -> list[tuple[Profile, float]]:
        """Up to k hits of ``index`` near ``vector`` that are served, not excluded and admitted by
        ``where``: asks the index for more until k pass or the index has no more to give."""
        version = self.serving_version
        query = np.asarray(vector, dtype=np.float32)[None, :]  # (1, d)
        fetch = k + len(exclude)
        while True:
            hits = index.search(query, min(fetch, len(index)))[0]
            out = []
            for name, score in hits:
                profile = self._profiles.get(name)
                if profile is None or name in exclude or profile.model_version != version:
                    continue
                if where is not None and not self._admits(where, profile):
                    continue
                out.append((profile, float(score)))
            if len(out) >= k or fetch >= len(index):
                return out[:k]
            fetch *= 4
