"""Influencers as bags of posts: labels, the held-out split, and padded (B, W, F) batches.

A ``PostTable`` holds each influencer's posts in one contiguous run of rows, so a bag is just
``[start, end)``. Training samples a window of posts per influencer (fresh each epoch); evaluation
pools every post, as the streaming job does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import torch

from training.dataset.categories import CATEGORIES
from training.encoders.features import PostTable
from training.errors import DatasetError

if TYPE_CHECKING:
    from training.store.read import StoredFeatures

log = logging.getLogger(__name__)

# Post features by table row: a tensor in memory, or a feature store's rows read from disk batch by
# batch (indexed like an (N, F) numpy array).
PostFeatures: TypeAlias = "torch.Tensor | StoredFeatures"

IGNORE = -100  # label of padded posts and of posts with no known topic
# Influencers a category needs before the seeded split holds one out for test / validation
# (one always stays in training).
MIN_PER_CATEGORY = {"test": 2, "val": 3}


@dataclass(frozen=True)
class InfluencerBags:
    names: tuple[str, ...]  # (I,)
    labels: np.ndarray  # (I,) int64 index into categories
    starts: np.ndarray  # (I,) int64 first row of the influencer's posts in the table
    ends: np.ndarray  # (I,) int64 one past the last row
    post_topics: np.ndarray  # (N,) int64 true topic of each table row, IGNORE when unknown
    categories: tuple[str, ...] = CATEGORIES

    def __len__(self) -> int:
        return len(self.names)

    def counts(self) -> np.ndarray:
        return self.ends - self.starts


def build_bags(
    table: PostTable,
    labels: Mapping[str, str],
    topics: Mapping[str, str | None] | None = None,
    categories: Sequence[str] = CATEGORIES,
) -> InfluencerBags:
    """One bag per influencer with a known label and at least one post. ``topics`` maps post ids
    to their true topic where known (a synthetic world's truth), for post-head accuracy."""
    index = {c: i for i, c in enumerate(categories)}
    names = table.influencers
    change = np.flatnonzero(names[1:] != names[:-1]) + 1 if len(names) else np.array([], dtype=np.int64)
    starts = np.concatenate([[0], change]).astype(np.int64) if len(names) else np.zeros(0, np.int64)
    ends = np.concatenate([change, [len(names)]]).astype(np.int64) if len(names) else np.zeros(0, np.int64)
    run_names = names[starts].tolist() if len(names) else []
    if len(set(run_names)) != len(run_names):
        raise DatasetError("the post table is not grouped by influencer; rebuild it with collect_posts")
    keep = [i for i, n in enumerate(run_names) if labels.get(n) in index]
    dropped = len(run_names) - len(keep)
    if dropped:
        log.warning("%d influencers have posts but no known category; they are left out", dropped)
    post_topics = np.full(len(table), IGNORE, dtype=np.int64)
    if topics:
        for row, pid in enumerate(table.post_ids.tolist()):
            topic = topics.get(pid)
            if topic in index:
                post_topics[row] = index[topic]
    return InfluencerBags(
        names=tuple(run_names[i] for i in keep),
        labels=np.array([index[labels[run_names[i]]] for i in keep], dtype=np.int64),
        starts=starts[keep],
        ends=ends[keep],
        post_topics=post_topics,
        categories=tuple(categories),
    )


def split_bags(
    bags: InfluencerBags,
    dataset_path: str | Path | Sequence[str | Path],
    seed: int = 0,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
) -> dict[str, np.ndarray]:
    """train / val / test bag indices: the world's own split when the copy has ``world.json``,
    else a seeded split stratified by category (the public dataset has none)."""
    from training.synth.meta import load_world_meta

    roots = [dataset_path] if isinstance(dataset_path, str | Path) else list(dataset_path)
    meta = next((m for m in (load_world_meta(r) for r in roots) if m is not None), None)
    position = {name: i for i, name in enumerate(bags.names)}
    if meta is not None:
        parts = {
            part: np.array(
                sorted(position[n] for n in meta.split.get(part, ()) if n in position), dtype=np.int64
            )
            for part in ("train", "val", "test")
        }
        log.info("split from world.json: %s", {k: len(v) for k, v in parts.items()})
        return parts
    if not len(bags):
        raise DatasetError("no influencer has both a known category and a readable post; nothing to split")
    parts = stratified_split(bags.labels, seed, fractions)
    log.info("seeded stratified split: %s", {k: len(v) for k, v in parts.items()})
    return parts


def stratified_split(
    labels: np.ndarray, seed: int = 0, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
) -> dict[str, np.ndarray]:
    """The seeded split of a copy without ``world.json``: labels (I,) int64 -> train / val / test
    indices into them (sorted int64), each category shuffled and cut by ``held_out_counts``."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test, n_val = held_out_counts(len(members), fractions)
        parts["test"].extend(members[:n_test].tolist())
        parts["val"].extend(members[n_test : n_test + n_val].tolist())
        parts["train"].extend(members[n_test + n_val :].tolist())
    return {k: np.array(sorted(v), dtype=np.int64) for k, v in parts.items()}


def held_out_counts(members: int, fractions: tuple[float, float, float]) -> tuple[int, int]:
    """(test, validation) influencers of a category with ``members``: the fractions rounded, but one
    of each as soon as the category can spare them while keeping one for training (2 members:
    one test; 3 or more: one test and one validation at least)."""
    n_test = max(int(round(fractions[2] * members)), 1 if members >= MIN_PER_CATEGORY["test"] else 0)
    n_val = max(int(round(fractions[1] * members)), 1 if members >= MIN_PER_CATEGORY["val"] else 0)
    return n_test, n_val


def split_notes(bags: InfluencerBags, split: Mapping[str, np.ndarray]) -> list[str]:
    """What the split could not hold out, in words for the report (empty when it held out all)."""
    notes = []
    counts = {c: int((bags.labels == i).sum()) for i, c in enumerate(bags.categories)}
    present = [c for c, n in counts.items() if n]
    for part, what in (("test", "no held-out test"), ("val", "no validation")):
        covered = {bags.categories[i] for i in bags.labels[split[part]]}
        missing = [c for c in present if c not in covered]
        if not missing:
            continue
        need = MIN_PER_CATEGORY[part]
        few = ", ".join(f"{c} {counts[c]}" for c in missing)
        notes.append(
            f"{what} influencer for {len(missing)} of {len(present)} categories ({few} influencers); "
            f"a category needs at least {need} influencers for one"
        )
    if not len(split["val"]):
        notes.append("early stopping watched the training loss and the confidence is not calibrated")
    if not len(split["test"]):
        notes.append("no influencer was held out for testing: the model is exported untested")
    return notes


def post_rows(bags: InfluencerBags, idx: np.ndarray) -> np.ndarray:
    """Table rows of every post of the given bags, bag after bag."""
    if len(idx) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([np.arange(bags.starts[i], bags.ends[i]) for i in idx])


def make_batch(
    features: PostFeatures,
    bags: InfluencerBags,
    idx: np.ndarray,
    window: int | None,
    rng: np.random.Generator | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[np.ndarray]]:
    """Pad the bags ``idx`` into one batch.

    features (N, F), in memory or stored -> x (B, W, F) on the features' device (stored: on the
    CPU), mask (B, W) bool, rows (B, W) int64 table rows (-1 = padding),
    plus each bag's chosen rows. With ``rng``: ``window`` posts drawn at random per bag (all if it
    has fewer), kept in time order; without: the most recent ``window`` posts (all when None).
    """
    chosen: list[np.ndarray] = []
    for i in idx:
        rows = np.arange(bags.starts[i], bags.ends[i])
        if window is not None and len(rows) > window:
            rows = (
                np.sort(rng.choice(rows, size=window, replace=False)) if rng is not None else rows[-window:]
            )
        chosen.append(rows)
    width = max(len(r) for r in chosen)
    table_rows = torch.full((len(chosen), width), -1, dtype=torch.long)
    for b, rows in enumerate(chosen):
        table_rows[b, : len(rows)] = torch.from_numpy(rows)
    mask = table_rows >= 0  # (B, W)
    x = gather_rows(features, table_rows.clamp(min=0))  # (B, W, F)
    x = x * mask.to(x.device).unsqueeze(-1)
    return x, mask, table_rows, chosen


def gather_rows(features: PostFeatures, rows: torch.Tensor) -> torch.Tensor:
    """``features[rows]`` for any shape of row numbers: an in-memory tensor is indexed where it
    lives; stored features (training.store.read.StoredFeatures) read just those rows, on the CPU."""
    if isinstance(features, torch.Tensor):
        return features[rows.to(features.device)]
    block = features[rows.reshape(-1).numpy()]
    return torch.from_numpy(block).view(*rows.shape, block.shape[-1])
