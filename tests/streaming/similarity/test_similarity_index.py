"""The similarity index: exact below its size limit, HNSW past it, updatable both ways, snapshotted."""

from __future__ import annotations

import numpy as np
import pytest

from streaming.errors import SimilarityIndexError, UnknownInfluencerError
from streaming.similarity import SimilarityIndex, normalise

DIM = 24


CENTRES = np.random.default_rng(99).normal(size=(12, DIM)) * 3


def _clustered(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, DIM) vectors around a few fixed centres, like embeddings of influencers by topic."""
    return CENTRES[rng.integers(0, len(CENTRES), n)] + rng.normal(size=(n, DIM))


def _brute_force(base: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    sims = normalise(queries) @ normalise(base).T  # (q, n)
    return np.argsort(-sims, axis=1)[:, :k]


def _ids(n: int, start: int = 0) -> list[str]:
    return [f"user{i}" for i in range(start, start + n)]


def test_exact_search_matches_brute_force_cosine() -> None:
    rng = np.random.default_rng(0)
    base, queries = _clustered(rng, 500), _clustered(rng, 20)
    index = SimilarityIndex(DIM)
    index.upsert(_ids(500), base)
    assert index.kind == "exact" and len(index) == 500
    found = index.search(queries, 10)
    expected = _brute_force(base, queries, 10)
    for row, want in zip(found, expected, strict=True):
        assert [influencer for influencer, _ in row] == [f"user{j}" for j in want]
    cos = normalise(queries[:1]) @ normalise(base[expected[0, :1]]).T
    assert found[0][0][1] == pytest.approx(float(cos[0, 0]), abs=1e-5)


def test_upsert_replaces_remove_removes_and_neighbours_exclude_self() -> None:
    rng = np.random.default_rng(1)
    base = _clustered(rng, 200)
    index = SimilarityIndex(DIM)
    index.upsert(_ids(200), base)
    index.upsert(["user5"], -base[5:6])  # user5 now points the other way
    assert len(index) == 200
    assert index.search(-base[5:6], 1)[0][0] == ("user5", pytest.approx(1.0, abs=1e-5))
    assert "user5" not in [i for i, _ in index.search(base[5:6], 10)[0]]
    assert index.remove(["user7", "user7", "nobody"]) == 1
    assert len(index) == 199 and "user7" not in index
    assert all(i != "user7" for row in index.search(base, 5) for i, _ in row)
    neighbours = index.neighbours("user9", 6)
    assert len(neighbours) == 6 and "user9" not in [i for i, _ in neighbours]
    batched = index.neighbours_of(["user9", "user10"], 6)
    assert [i for i, _ in batched[0]] == [i for i, _ in neighbours]
    assert batched[1] == index.neighbours("user10", 6)
    with pytest.raises(UnknownInfluencerError):
        index.neighbours("user7", 3)
    with pytest.raises(SimilarityIndexError, match=f"\\(n, {DIM}\\)"):
        index.upsert(["x"], np.ones((1, DIM + 1)))


def test_hnsw_past_the_size_limit_finds_the_right_neighbours() -> None:
    rng = np.random.default_rng(2)
    base, queries = _clustered(rng, 4000), _clustered(rng, 100)
    index = SimilarityIndex(
        DIM, exact_max_size=1000, hnsw_m=32, hnsw_ef_search=128, rebuild_stale_share=0.3,
        hnsw_inplace_min_cosine=2.0,  # off: every replaced vector leaves a stale entry here
    )  # fmt: skip
    index.upsert(_ids(800), base[:800])
    assert index.kind == "exact"
    index.upsert(_ids(3200, 800), base[800:])
    assert index.kind == "hnsw" and len(index) == 4000

    def recall() -> float:
        expected = _brute_force(base, queries, 10)
        hits = [
            len({i for i, _ in row} & {f"user{j}" for j in want})
            for row, want in zip(index.search(queries, 10), expected, strict=True)
        ]
        return sum(hits) / expected.size

    assert recall() >= 0.95
    # Replace a fifth of the vectors: the graph keeps the old ones as stale entries that must never
    # come back, while the new vectors must be found.
    moved = rng.choice(4000, 800, replace=False)
    base[moved] = _clustered(rng, 800)
    index.upsert([f"user{j}" for j in moved], base[moved])
    assert index.kind == "hnsw" and index.stale == 800 and len(index) == 4000
    for row in index.search(queries, 10):
        assert len({i for i, _ in row}) == 10  # no influencer twice (its stale vector is skipped)
    assert recall() >= 0.95
    # Removing more passes the stale share: the graph is rebuilt from the live vectors.
    index.remove(_ids(1000))
    assert index.stale == 0 and len(index) == 3000 and index.kind == "hnsw"
    assert index.search(base[:1], 3)[0][0][0] != "user0"
    # Shrinking to the exact size limit brings exact search back.
    index.remove(_ids(2500, 1000))
    assert index.kind == "exact" and len(index) == 500


def test_hnsw_small_drifts_are_written_in_place() -> None:
    rng = np.random.default_rng(4)
    base, queries = _clustered(rng, 3000), _clustered(rng, 50)
    index = SimilarityIndex(DIM, exact_max_size=0, hnsw_m=16, hnsw_ef_search=64, hnsw_inplace_min_cosine=0.95)
    index.upsert(_ids(3000), base)
    drifted = base + rng.normal(0, 0.1, base.shape)  # a new post nudges every embedding
    moved = rng.choice(3000, 50, replace=False)
    drifted[moved] = -drifted[moved]  # ... and 50 influencers change completely
    index.upsert(_ids(3000), drifted)
    assert index.stale == 50 and len(index) == 3000
    np.testing.assert_allclose(index.vector("user7"), normalise(drifted[7:8])[0], atol=1e-6)
    expected = _brute_force(drifted, queries, 10)
    hits = sum(
        len({i for i, _ in row} & {f"user{j}" for j in want})
        for row, want in zip(index.search(queries, 10), expected, strict=True)
    )
    assert hits / expected.size >= 0.95
    assert index.neighbours(f"user{moved[0]}", 1)[0][1] > 0.5  # found at its new place
