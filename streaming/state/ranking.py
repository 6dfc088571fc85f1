"""The top k of many small groups at once: one lexicographic sort over every candidate (numpy).

Used for an influencer's highest-weight posts (streaming.state.fold) and its likely-undisclosed
paid posts (streaming.state.sponsorship): the candidates are the posts kept so far plus the batch's
new ones, each with the row of its influencer.
"""

from __future__ import annotations

import numpy as np


def top_k_per_group(group: np.ndarray, score: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest ``score`` of each ``group`` (ties: the smaller id first), grouped
    by group in ascending order, best first within each. group (C,) int, score (C,), ids (C,) str."""
    assert group.shape == score.shape == ids.shape, "group, score and ids must be (C,)"
    order = np.lexsort((ids, -score, group))  # by group, then highest score, then id
    group_sorted = group[order]
    starts = np.flatnonzero(np.r_[True, group_sorted[1:] != group_sorted[:-1]])  # first of each run
    rank = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
    return order[rank < k]
