"""Influencer embeddings for the similarity benchmark, drawn like the trained model's.

Isotropic random vectors make nearest-neighbour recall meaningless (every point is about equally
far from every other), so the benchmark starts from reference embeddings of real influencers, in
order of preference:

1. a model folder + a dataset: each influencer's posts go through the model (encode, post step,
   attention pooling), labelled by the influencer's category;
2. a saved ``.npy`` of embeddings (n, H), optionally with a ``.npy`` of labels (n,);
3. neither: a stand-in with the model's shape (9 categories, non-negative pooled ReLU outputs,
   each category a few sub-topics on a low-dimensional subspace). Reported as ``synthetic``.

A per-category Gaussian with a low-rank covariance (mean, top principal directions and their
variances, and an isotropic residual) is fitted to the reference, and any number of embeddings is
sampled from that mixture.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

CATEGORY_COUNT = 9


@dataclass(frozen=True)
class Reference:
    embeddings: np.ndarray  # (n, H) float32
    labels: np.ndarray  # (n,) int category codes
    source: str  # "model <version> on …", "npy" or "synthetic"


@dataclass(frozen=True)
class Mixture:
    """One low-rank Gaussian per category. C categories, rank r, H dims."""

    weights: np.ndarray  # (C,) category shares, summing to 1
    means: np.ndarray  # (C, H)
    directions: np.ndarray  # (C, r, H) orthonormal rows
    scales: np.ndarray  # (C, r) standard deviations along the directions
    residual: np.ndarray  # (C,) standard deviation of the isotropic remainder
    nonnegative: bool  # the reference had no negative values (pooled ReLU outputs): clip at 0

    @property
    def dim(self) -> int:
        return int(self.means.shape[1])


def model_reference(
    model_dir: Path, dataset: Path, max_influencers: int, max_posts: int = 50, device: str = "auto"
) -> Reference:
    """Pool real influencers' latest ``max_posts`` posts through a trained model (slow, faithful)."""
    from training.dataset.reader import open_dataset
    from training.encoders.post_text import post_text
    from training.interface import PostInput
    from training.model_dir import load_model

    model = load_model(model_dir, device=device)
    embeddings, labels = [], []
    with open_dataset(dataset) as ds:
        influencers = ds.influencers()[:max_influencers]
        codes = {name: code for code, name in enumerate(sorted({i.category for i in influencers}))}
        for record in influencers:
            posts = sorted(ds.posts_of(record.username), key=lambda p: p.ts)[-max_posts:]
            if not posts:
                continue
            inputs = [
                PostInput(
                    post_text(p.caption, p.hashtags, p.usertags),
                    ds.read_image(p.image_paths[0]) if p.image_paths else None,
                )
                for p in posts
            ]
            step = model.post_step(model.encode(inputs))
            embeddings.append(model.pool(step.h, step.scores))
            labels.append(codes[record.category])
            if len(embeddings) % 25 == 0:
                log.info("pooled %d of %d influencers", len(embeddings), len(influencers))
    log.info("pooled %d influencers through model %s", len(embeddings), model.version)
    source = f"model {model.version} on {len(embeddings)} influencers of {Path(dataset).name}"
    return Reference(np.stack(embeddings).astype(np.float32), np.array(labels), source)


def save_reference(reference: Reference, path: Path) -> Path:
    """Write ``path`` (n, H) and its labels beside it (``<stem>.labels.npy``); returns the labels path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, reference.embeddings)
    labels = path.with_name(f"{path.stem}.labels.npy")
    np.save(labels, reference.labels)
    path.with_name(f"{path.stem}.source.txt").write_text(reference.source + "\n")
    return labels


def npy_reference(embeddings: Path, labels: Path | None) -> Reference:
    x = np.load(embeddings).astype(np.float32)
    assert x.ndim == 2, f"{embeddings} must hold (n, H) embeddings, got {x.shape}"
    described = embeddings.with_name(f"{embeddings.stem}.source.txt")  # written by save_reference
    source = f"npy: {described.read_text().strip()}" if described.is_file() else "npy"
    if labels is None:
        return Reference(x, np.zeros(len(x), dtype=np.int64), source)
    _, codes = np.unique(np.load(labels, allow_pickle=False), return_inverse=True)
    assert codes.shape == (len(x),), f"{labels} must hold one label per embedding"
    return Reference(x, codes, source)


def synthetic_reference(dim: int, rng: np.random.Generator, per_category: int = 600) -> Reference:
    """A stand-in shaped like pooled ReLU embeddings: 9 categories x 4 sub-topics, rank-8 spread."""
    blocks, labels = [], []
    for category in range(CATEGORY_COUNT):
        centre = np.maximum(rng.normal(0.2, 0.6, dim), 0)  # (H,) sparse, non-negative
        basis = rng.normal(0, 1, (8, dim)) / np.sqrt(dim)  # (8, H) the category's own directions
        topics = centre + rng.normal(0, 0.25, (4, dim))  # (4, H) sub-topics
        x = topics[rng.integers(0, 4, per_category)]
        x = x + rng.normal(0, 1.5, (per_category, 8)) @ basis + rng.normal(0, 0.05, (per_category, dim))
        blocks.append(np.maximum(x, 0))
        labels.append(np.full(per_category, category))
    return Reference(np.concatenate(blocks).astype(np.float32), np.concatenate(labels), "synthetic")


def fit_mixture(reference: Reference, rank: int = 16) -> Mixture:
    """Fit mean + top-``rank`` principal directions + isotropic residual per category."""
    x = reference.embeddings.astype(np.float64)
    dim = x.shape[1]
    categories = np.unique(reference.labels)
    weights, means, directions, scales, residual = [], [], [], [], []
    for category in categories:
        rows = x[reference.labels == category]  # (n_c, H)
        if len(rows) < 2:
            continue
        mean = rows.mean(axis=0)
        _, sv, vt = np.linalg.svd(rows - mean, full_matrices=False)  # vt (min(n_c, H), H)
        variances = sv**2 / (len(rows) - 1)
        r = min(rank, len(variances))
        rest = variances[r:].sum() / max(dim - r, 1)
        weights.append(len(rows))
        means.append(mean)
        directions.append(np.pad(vt[:r], ((0, rank - r), (0, 0))))
        scales.append(np.pad(np.sqrt(variances[:r]), (0, rank - r)))
        residual.append(np.sqrt(rest))
    assert weights, "the reference needs at least one category with two or more embeddings"
    w = np.array(weights, dtype=np.float64)
    return Mixture(
        weights=w / w.sum(),
        means=np.stack(means),
        directions=np.stack(directions),
        scales=np.stack(scales),
        residual=np.array(residual),
        nonnegative=bool((reference.embeddings >= 0).all()),
    )


def sample(mixture: Mixture, n: int, rng: np.random.Generator, chunk: int = 100_000) -> np.ndarray:
    """(n, H) float32 embeddings drawn from the mixture, ``chunk`` rows at a time."""
    out = np.empty((n, mixture.dim), dtype=np.float32)
    rank = mixture.scales.shape[1]
    for start in range(0, n, chunk):
        block = out[start : start + chunk]  # (m, H) view
        category = rng.choice(len(mixture.weights), size=len(block), p=mixture.weights)  # (m,)
        for c in range(len(mixture.weights)):
            rows = np.flatnonzero(category == c)
            z = rng.standard_normal((len(rows), rank)) * mixture.scales[c]  # (m_c, r)
            noise = rng.standard_normal((len(rows), mixture.dim), dtype=np.float32) * mixture.residual[c]
            block[rows] = mixture.means[c] + z @ mixture.directions[c] + noise  # (m_c, H)
        if mixture.nonnegative:
            np.maximum(block, 0, out=block)
    return out
