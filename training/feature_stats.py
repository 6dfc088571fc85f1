"""The feature standardisation of a model (its ``set_feature_stats``): each feature's mean and
standard deviation over the training posts, from a tensor in memory or, a chunk of rows at a time,
from a numpy array or a feature store's rows."""

from __future__ import annotations

import numpy as np
import torch

from training.bags import PostFeatures


def feature_stats(
    features: PostFeatures | np.ndarray, rows: np.ndarray, chunk: int = 65536
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and (unbiased) standard deviation of every feature over ``rows``. Stored features are
    read ``chunk`` rows at a time and merged in float64 (Chan et al.'s pairwise update), and so is
    a numpy array."""
    if isinstance(features, torch.Tensor):
        sample = features[torch.from_numpy(rows).to(features.device)]
        return sample.mean(0).cpu(), sample.std(0).cpu()
    count, mean, m2 = 0, np.zeros(features.shape[1]), np.zeros(features.shape[1])
    for start in range(0, len(rows), chunk):
        block = features[np.sort(rows[start : start + chunk])].astype(np.float64)
        n, block_mean = len(block), block.mean(axis=0)
        delta = block_mean - mean
        m2 += ((block - block_mean) ** 2).sum(axis=0) + delta**2 * count * n / (count + n)
        mean += delta * n / (count + n)
        count += n
    std = np.sqrt(m2 / max(count - 1, 1))
    return torch.from_numpy(mean.astype(np.float32)), torch.from_numpy(std.astype(np.float32))
