"""Similar-influencer search: a FAISS index over L2-normalised embeddings, keyed by influencer id.

Inner product of unit vectors is cosine similarity. The index kind follows the size:

- up to ``exact_max_size`` vectors: exact search, ``IndexIDMap2(IndexFlatIP)``; an upsert removes
  the old vector and adds the new one, a removal really removes.
- past it: ``IndexHNSWFlat`` (inner product), whose graph cannot delete. An influencer's
  embedding mostly drifts a little with each new post: when the new vector is within
  ``hnsw_inplace_min_cosine`` of the stored one it overwrites it in place (the node keeps its
  edges, still good for a small move; no graph insertion). A vector that moved farther, or a
  removed one, stays in the graph as a *stale* entry that searches skip (a bitmap ``IDSelector``
  of the live entries), the new vector becomes a new node, and once stale entries pass
  ``rebuild_stale_share`` of the index it is rebuilt from the live vectors (and becomes exact
  again if it shrank to that size). A rebuild holds the lock: searches wait for it.

Internally every vector has an int64 label; in the HNSW index the label is the vector's position.
One lock serialises all calls, so a service may share the index between threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import faiss
import numpy as np

from streaming.errors import SimilarityIndexError, UnknownInfluencerError

if TYPE_CHECKING:
    from streaming.config import SimilaritySettings

log = logging.getLogger(__name__)

Kind = Literal["exact", "hnsw"]
_FEW_QUERIES = 20  # below this many queries an exact search runs on the calling thread alone


def normalise(vectors: np.ndarray) -> np.ndarray:
    """(n, d) -> (n, d) float32 rows of unit length (all-zero rows stay zero)."""
    x = np.array(vectors, dtype=np.float32, ndmin=2)  # a copy: faiss normalises in place
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.divide(x, norms, out=x, where=norms > 0)
    return x


class SimilarityIndex:
    def __init__(
        self,
        dim: int,
        *,
        exact_max_size: int = 20_000,
        hnsw_m: int = 32,
        hnsw_ef_construction: int = 64,
        hnsw_ef_search: int = 64,
        rebuild_stale_share: float = 0.2,
        hnsw_inplace_min_cosine: float = 0.95,
    ) -> None:
        assert dim > 0 and 0 < rebuild_stale_share < 1, "dim > 0 and 0 < rebuild_stale_share < 1"
        self.dim = dim
        self.exact_max_size = exact_max_size
        self.hnsw_m = hnsw_m
        self.hnsw_ef_construction = hnsw_ef_construction
        self.hnsw_ef_search = hnsw_ef_search
        self.rebuild_stale_share = rebuild_stale_share
        self.hnsw_inplace_min_cosine = hnsw_inplace_min_cosine
        self._lock = threading.RLock()
        self._label_of: dict[str, int] = {}
        self._id_of: dict[int, str] = {}
        self._next_label = 0
        self._live = np.zeros(0, dtype=bool)  # HNSW only: (capacity,) live flag per position
        self._stale = 0
        self._selector: tuple[np.ndarray, faiss.IDSelector] | None = None  # bitmap kept alive with it
        self._index: faiss.Index = self._new_index("exact")
        self.kind: Kind = "exact"

    @classmethod
    def from_settings(cls, dim: int, settings: SimilaritySettings) -> SimilarityIndex:
        return cls(dim, **settings.model_dump())

    # ---- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._label_of)

    def __contains__(self, influencer: object) -> bool:
        return influencer in self._label_of

    @property
    def stale(self) -> int:
        """Replaced or removed vectors still held by the HNSW graph (always 0 when exact)."""
        return self._stale

    def memory_bytes(self) -> int:
        """Bytes of the vectors, ids and graph FAISS holds (the Python id maps not included)."""
        with self._lock:
            n = int(self._index.ntotal)
            if self.kind == "exact":
                return n * (self.dim * 4 + 8)  # float32 rows + the int64 id of each row
            hnsw = self._index.hnsw
            graph = hnsw.neighbors.size() * 4 + hnsw.offsets.size() * 8 + hnsw.levels.size() * 4
            return n * self.dim * 4 + int(graph) + self._live.nbytes

    def vector(self, influencer: str) -> np.ndarray:
        """The stored unit vector of one influencer, (d,) float32."""
        with self._lock:
            label = self._label_of.get(influencer)
            if label is None:
                raise UnknownInfluencerError(f"no embedding for influencer {influencer!r} in the index")
            return self._index.reconstruct(label)

    def search(self, vectors: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        """(q, d) query vectors -> per query up to k (influencer, cosine) pairs, best first."""
        x = self._check(vectors)
        with self._lock:
            k_eff = min(k, len(self))
            if k_eff <= 0:
                return [[] for _ in range(x.shape[0])]
            if self.kind == "exact" and x.shape[0] < _FEW_QUERIES:
                # A scan for one query gains nothing from OpenMP threads, and on a busy machine
                # waiting for them costs milliseconds. The setting is per calling thread.
                threads = faiss.omp_get_max_threads()
                faiss.omp_set_num_threads(1)
                try:
                    scores, labels = self._index.search(x, k_eff)
                finally:
                    faiss.omp_set_num_threads(threads)
            else:
                scores, labels = self._index.search(x, k_eff, params=self._search_params(k_eff))
            return [
                [(self._id_of[int(lab)], float(sc)) for lab, sc in zip(row_l, row_s, strict=True) if lab >= 0]
                for row_l, row_s in zip(labels, scores, strict=True)
            ]

    def neighbours(self, influencer: str, k: int) -> list[tuple[str, float]]:
        """The k influencers most similar to one in the index, itself excluded."""
        return self.neighbours_of([influencer], k)[0]

    def neighbours_of(self, influencers: Sequence[str], k: int) -> list[list[tuple[str, float]]]:
        """``neighbours`` for many influencers in one batched search (one list per influencer)."""
        if not influencers:
            return []
        with self._lock:
            vectors = np.stack([self.vector(i) for i in influencers])  # (q, d)
            found = self.search(vectors, k + 1)
        return [
            [(other, score) for other, score in row if other != influencer][:k]
            for influencer, row in zip(influencers, found, strict=True)
        ]

    # ---- writing -------------------------------------------------------------------------------

    def upsert(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Insert or replace the vectors of ``ids`` (n,), vectors (n, d); the last one wins on repeats."""
        x = self._check(vectors)
        if len(ids) != x.shape[0]:
            raise SimilarityIndexError(f"{len(ids)} ids for {x.shape[0]} vectors")
        last = {influencer: row for row, influencer in enumerate(ids)}  # dict keeps first-seen order
        if len(last) < len(ids):
            ids, x = list(last), x[list(last.values())]
        with self._lock:
            growth = sum(i not in self._label_of for i in ids)
            if self.kind == "exact" and len(self) + growth > self.exact_max_size:
                self.rebuild("hnsw")  # grow straight into the graph
            if self.kind == "hnsw":
                ids, x = self._replace_in_place(ids, x)
            self._forget([i for i in ids if i in self._label_of])
            self._add(ids, x)
            self._maybe_rebuild()

    def remove(self, ids: Sequence[str]) -> int:
        """Remove influencers (unknown ids are ignored); returns how many were removed."""
        with self._lock:
            known = [i for i in dict.fromkeys(ids) if i in self._label_of]
            self._forget(known)
            self._maybe_rebuild()
            return len(known)

    def rebuild(self, kind: Kind | None = None) -> None:
        """Rebuild from the live vectors as ``kind`` (default: by size), dropping every stale entry."""
        with self._lock:
            labels = np.array(list(self._id_of), dtype=np.int64)
            vectors = self._live_vectors(labels)  # (live, d)
            ids = [self._id_of[int(lab)] for lab in labels]
            kind = kind or ("exact" if len(ids) <= self.exact_max_size else "hnsw")
            log.info("rebuilding the similarity index: %d live, %d stale -> %s", len(ids), self._stale, kind)
            self._reset(kind)
            self._add(ids, vectors)

    # ---- internals -----------------------------------------------------------------------------

    def _config(self) -> dict[str, float | int]:
        return {
            "exact_max_size": self.exact_max_size,
            "hnsw_m": self.hnsw_m,
            "hnsw_ef_construction": self.hnsw_ef_construction,
            "hnsw_ef_search": self.hnsw_ef_search,
            "rebuild_stale_share": self.rebuild_stale_share,
            "hnsw_inplace_min_cosine": self.hnsw_inplace_min_cosine,
        }

    def _check(self, vectors: np.ndarray) -> np.ndarray:
        x = normalise(vectors)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise SimilarityIndexError(f"vectors must be (n, {self.dim}), got {x.shape}")
        if not np.isfinite(x).all():
            raise SimilarityIndexError("vectors must be finite")
        return x

    def _new_index(self, kind: Kind) -> faiss.Index:
        if kind == "exact":
            return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        index = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = self.hnsw_ef_construction
        index.hnsw.efSearch = self.hnsw_ef_search
        return index

    def _reset(self, kind: Kind) -> None:
        self._index, self.kind = self._new_index(kind), kind
        self._label_of, self._id_of, self._next_label = {}, {}, 0
        self._live, self._stale, self._selector = np.zeros(0, dtype=bool), 0, None

    def _forget(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        labels = np.array([self._label_of.pop(i) for i in ids], dtype=np.int64)
        for label in labels.tolist():
            del self._id_of[label]
        if self.kind == "exact":
            self._index.remove_ids(labels)
        else:
            self._live[labels] = False
            self._stale += len(labels)
            self._selector = None

    def _replace_in_place(self, ids: Sequence[str], x: np.ndarray) -> tuple[list[str], np.ndarray]:
        """HNSW: overwrite the stored vectors that moved little; returns the ids and rows left."""
        rows = np.array([row for row, i in enumerate(ids) if i in self._label_of], dtype=np.int64)
        if rows.size == 0:
            return list(ids), x
        labels = np.array([self._label_of[ids[row]] for row in rows], dtype=np.int64)
        flat = faiss.downcast_index(self._index.storage)
        n = int(flat.ntotal)
        stored = faiss.rev_swig_ptr(flat.get_xb(), n * self.dim).reshape(n, self.dim)  # a view
        close = np.einsum("nd,nd->n", stored[labels], x[rows]) >= self.hnsw_inplace_min_cosine  # (rows,)
        stored[labels[close]] = x[rows[close]]
        left = np.ones(len(ids), dtype=bool)
        left[rows[close]] = False
        return [i for i, keep in zip(ids, left, strict=True) if keep], x[left]

    def _add(self, ids: Sequence[str], x: np.ndarray) -> None:
        """Add vectors (n, d) of ids the index does not hold, under fresh labels."""
        if not len(ids):
            return
        labels = np.arange(self._next_label, self._next_label + len(ids), dtype=np.int64)
        self._next_label += len(ids)
        for influencer, label in zip(ids, labels.tolist(), strict=True):
            self._label_of[influencer] = label
            self._id_of[label] = influencer
        if self.kind == "exact":
            self._index.add_with_ids(x, labels)
        else:
            self._index.add(x)  # positions continue the labels
            self._mark_live(labels)

    def _mark_live(self, labels: np.ndarray) -> None:
        end = int(labels[-1]) + 1
        if end > self._live.shape[0]:
            grown = np.zeros(max(end, 2 * self._live.shape[0]), dtype=bool)
            grown[: self._live.shape[0]] = self._live
            self._live = grown
        self._live[labels] = True
        self._selector = None

    def _search_params(self, k: int) -> faiss.SearchParameters | None:
        if self.kind == "exact":
            return None
        sel = None
        if self._stale:
            if self._selector is None:
                bitmap = np.packbits(self._live[: self._index.ntotal], bitorder="little")
                self._selector = (bitmap, faiss.IDSelectorBitmap(self._index.ntotal, faiss.swig_ptr(bitmap)))
            sel = self._selector[1]
        return faiss.SearchParametersHNSW(sel=sel, efSearch=max(self.hnsw_ef_search, k))

    def _live_vectors(self, labels: np.ndarray) -> np.ndarray:
        if self.kind == "exact":
            flat = faiss.downcast_index(self._index.index)
            order = faiss.vector_to_array(self._index.id_map)  # label of each stored row
            rows = {int(lab): row for row, lab in enumerate(order)}
            return flat.reconstruct_n(0, flat.ntotal)[[rows[int(lab)] for lab in labels]]
        return self._index.reconstruct_n(0, self._index.ntotal)[labels]

    def _maybe_rebuild(self) -> None:
        if self.kind == "hnsw" and self._stale > self.rebuild_stale_share * self._index.ntotal:
            self.rebuild()
