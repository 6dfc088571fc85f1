"""The low-rank mixture the similarity benchmark samples from reproduces its reference."""

from __future__ import annotations

import numpy as np

from streaming.bench.embedding_source import Reference, fit_mixture, sample


def test_mixture_reproduces_category_means_and_main_spread() -> None:
    rng = np.random.default_rng(0)
    dim = 20
    means = rng.normal(0, 5, (3, dim))
    direction = np.eye(dim)[:3]  # category c spreads along axis c with std 3, else 0.1
    x = np.concatenate(
        [
            means[c] + rng.normal(0, 3, (2000, 1)) * direction[c] + rng.normal(0, 0.1, (2000, dim))
            for c in range(3)
        ]
    )
    labels = np.repeat(np.arange(3), 2000)
    mixture = fit_mixture(Reference(x.astype(np.float32), labels, "test"), rank=2)
    np.testing.assert_allclose(mixture.weights, [1 / 3] * 3)
    assert not mixture.nonnegative
    drawn = sample(mixture, 30_000, rng, chunk=7000)
    assert drawn.shape == (30_000, dim) and drawn.dtype == np.float32
    # Assign each sample to its nearest category mean and compare the statistics.
    nearest = np.argmin(((drawn[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    for c in range(3):
        rows = drawn[nearest == c]
        assert abs(len(rows) / len(drawn) - 1 / 3) < 0.02
        np.testing.assert_allclose(rows.mean(axis=0), means[c], atol=0.15)
        spread = rows.std(axis=0)
        assert abs(spread[c] - 3) < 0.15 and np.median(spread) < 0.2
