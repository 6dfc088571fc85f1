"""k stratified folds over influencers: each influencer is tested exactly once, every method on the
same folds (so their scores pair up fold by fold).

Fold i tests its own influencers; of the others a stratified share (``VAL_SHARE``) is the
validation set (early stopping, calibration) and the rest trains. Seeded: the same labels, k and
seed give the same folds.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from training.bags import InfluencerBags
from training.errors import SplitError

VAL_SHARE = 0.15 / 0.85  # of the non-test influencers: the single split's 70 / 15 / 15 proportions


def check_folds(bags: InfluencerBags, k: int) -> None:
    """SplitError saying how many influencers per category ``k`` folds need, when some lack them."""
    if k < 2:
        raise SplitError(f"cross-validation needs at least 2 folds, got {k}")
    counts = Counter(bags.categories[i] for i in bags.labels.tolist())
    short = {c: n for c, n in sorted(counts.items()) if n < k}
    if short:
        smallest = min(counts.values())
        listed = ", ".join(f"{c} {n}" for c, n in short.items())
        hint = f"use --folds {smallest} or fewer" if smallest >= 2 else "add influencers to those categories"
        raise SplitError(
            f"{k} folds need at least {k} influencers in every category (one tested per fold), but "
            f"{listed} have fewer; {hint}"
        )


def stratified_folds(bags: InfluencerBags, k: int, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """k dicts of train / val / test bag indices (sorted int64); the tests partition every bag."""
    check_folds(bags, k)
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(bags), dtype=np.int64)
    offset = 0
    for label in np.unique(bags.labels):
        members = rng.permutation(np.flatnonzero(bags.labels == label))
        # deal the category round-robin, starting where the last one stopped, so fold sizes stay even
        fold_of[members] = (offset + np.arange(len(members))) % k
        offset += len(members)
    folds = []
    for i in range(k):
        test = np.flatnonzero(fold_of == i)
        val: list[int] = []
        for label in np.unique(bags.labels):
            rest = rng.permutation(np.flatnonzero((fold_of != i) & (bags.labels == label)))
            n_val = int(round(VAL_SHARE * len(rest))) if len(rest) >= 2 else 0
            val.extend(rest[: max(n_val, 1 if len(rest) >= 2 else 0)].tolist())
        val_idx = np.array(sorted(val), dtype=np.int64)
        train = np.setdiff1d(np.flatnonzero(fold_of != i), val_idx)
        folds.append({"train": train, "val": val_idx, "test": test})
    return folds
