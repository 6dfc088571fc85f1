"""A seeded sample of a copy's influencers, for training the in-memory path (the compact CNN above
all) on a copy too large to hold: `scout train DATA --sample-influencers N`.

    sample = draw_sample(["data/instagram"], SampleConfig(influencers=300, seed=0))
    with open_dataset("data/instagram", influencers=sample.names) as ds: ...

The draw reads only the copy's index (influencers.txt, the mapping and world.json), never a post.
It is stratified twice: by category (every category gets one influencer as soon as N allows, the
rest in proportion to the categories' sizes) and, within a category, by the copy's own split.

Why the copy's split, and not a fresh split of the sample: the sample's model folder exists to
embed the whole copy (`scout features DATA --model`), whose profiler is then trained and tested on
the copy's split. A compact CNN trained on a sample influencer whom the copy's split holds out would
have seen that influencer's labelled images, and flatter the whole copy's test. So each sampled
influencer keeps its part of the copy's split: world.json's for a synthetic world, and for a copy
without one the seeded stratified split `training.bags.split_bags` makes of the whole copy. That
split is computed here from the index, over the labelled influencers with mapped posts; it is the
one `split_bags` makes from the copy's posts as long as each of them has a readable post (one
whose posts are all unreadable drops out of the copy's bags and shifts the draw). Within a category
the N_c picks are cut into test / validation / training like a category of N_c influencers
(``training.bags.held_out_counts``), so the sample's own model folder is tested too.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.dataset.categories import CATEGORIES
from training.dataset.reader import open_dataset
from training.errors import SampleError

log = logging.getLogger(__name__)

PARTS = ("train", "val", "test")
MIN_INFLUENCERS = 2  # one to train on and one more: fewer is no sample to train a model on
FRACTIONS = (0.7, 0.15, 0.15)  # split_bags' default: the split of the copy the sample keeps


@dataclass(frozen=True)
class SampleConfig:
    influencers: int  # N, drawn from the copy's labelled influencers with posts
    seed: int = 0


@dataclass(frozen=True)
class InfluencerSample:
    names: tuple[str, ...]  # the sampled influencers, in the copy's order
    of: int  # the labelled influencers with posts it was drawn from
    seed: int
    split: Mapping[str, tuple[str, ...]]  # train / val / test -> sampled names: the copy's parts
    split_source: str  # "world.json" or "seeded stratified split"
    categories: Mapping[str, int]  # category -> sampled influencers

    @property
    def key(self) -> str:
        """What caches of the sample's features are keyed by, beside the copy's fingerprint."""
        blob = "\n".join(f"{part}:{name}" for part in PARTS for name in self.split[part])
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def split_of(self, names: Sequence[str]) -> dict[str, np.ndarray]:
        """train / val / test indices into ``names`` (e.g. the bags' names; sorted int64)."""
        position = {name: i for i, name in enumerate(names)}
        return {
            part: np.array(sorted(position[n] for n in self.split[part] if n in position), dtype=np.int64)
            for part in PARTS
        }

    def to_dict(self) -> dict[str, Any]:
        """What a model folder records of it, so that it is never taken for a model of the copy."""
        return {
            "influencers": len(self.names),
            "of": self.of,
            "seed": self.seed,
            "split_source": self.split_source,
            "split": {part: len(self.split[part]) for part in PARTS},
            "categories": dict(self.categories),
            "key": self.key,
        }


def draw_sample(roots: Sequence[str | Path], config: SampleConfig, split_seed: int = 0) -> InfluencerSample:
    """N influencers of the copy, seeded by ``config.seed`` (``split_seed``: the seed of the copy's
    split where it has no world.json, FeatureConfig.seed). SampleError when N < 2 or more than the
    copy's labelled influencers with posts."""
    from training.synth.meta import load_world_meta

    n = config.influencers
    if n < MIN_INFLUENCERS:
        raise SampleError(f"a sample needs at least {MIN_INFLUENCERS} influencers, got {n}")
    with open_dataset(list(roots)) as ds:
        labels = {r.username: r.category for r in ds.influencers()}
        order = [name for name in ds.usernames() if labels.get(name) in CATEGORIES]
    meta = next((m for m in (load_world_meta(r) for r in roots) if m is not None), None)
    if meta is not None:
        part_of = {name: part for part in PARTS for name in meta.split.get(part, ())}
        order = [name for name in order if name in part_of]  # (split_bags leaves the others out too)
        source = "world.json"
    else:
        part_of = copy_split(order, labels, split_seed)
        source = "seeded stratified split"
    if n > len(order):
        raise SampleError(
            f"a sample of {n} influencers is more than the copy holds: it has {len(order)} with a known "
            "category and posts; train on the whole copy instead (leave out --sample-influencers)"
        )
    rng = np.random.default_rng(config.seed)
    members = {c: [name for name in order if labels[name] == c] for c in CATEGORIES}
    members = {c: names for c, names in members.items() if names}
    chosen: set[str] = set()
    taken: dict[str, int] = {}
    for category, k in category_counts({c: len(v) for c, v in members.items()}, n, rng).items():
        by_part = {part: [name for name in members[category] if part_of[name] == part] for part in PARTS}
        for part, m in part_counts(k, {part: len(v) for part, v in by_part.items()}).items():
            picks = rng.permutation(len(by_part[part]))[:m]
            chosen.update(by_part[part][i] for i in picks.tolist())
        if k:
            taken[category] = k
    missing = [c for c in members if c not in taken]
    if missing:
        log.warning(
            "a sample of %d influencers cannot hold all %d categories: %s left out",
            n,
            len(members),
            ", ".join(missing),
        )
    names = tuple(name for name in order if name in chosen)
    split = {part: tuple(name for name in names if part_of[name] == part) for part in PARTS}
    sample = InfluencerSample(
        names=names, of=len(order), seed=config.seed, split=split, split_source=source, categories=taken
    )
    log.info(
        "sample of %d of %d influencers (seed %d): %s",
        len(names),
        len(order),
        config.seed,
        {part: len(v) for part, v in split.items()},
    )
    return sample


def copy_split(order: Sequence[str], labels: Mapping[str, str], seed: int) -> dict[str, str]:
    """name -> part of the seeded stratified split a copy of ``order`` (its labelled influencers
    with posts, in the copy's order) gets from ``split_bags``."""
    from training.bags import stratified_split

    index = {c: i for i, c in enumerate(CATEGORIES)}
    codes = np.array([index[labels[name]] for name in order], dtype=np.int64)
    parts = stratified_split(codes, seed, FRACTIONS)
    return {order[i]: part for part in PARTS for i in parts[part].tolist()}


def category_counts(sizes: Mapping[str, int], n: int, rng: np.random.Generator) -> dict[str, int]:
    """How many of each category a sample of ``n`` takes (n <= the sizes' sum): one each when n
    allows, the rest in proportion to what each has left (largest remainders, ties broken at random);
    with fewer than one per category, the largest categories (ties at random)."""
    names = list(sizes)
    tie = rng.permutation(len(names))
    if n < len(names):
        ranked = sorted(range(len(names)), key=lambda i: (-sizes[names[i]], tie[i]))
        return {names[i]: int(i in ranked[:n]) for i in range(len(names))}
    spare = [sizes[c] - 1 for c in names]
    extra, total = n - len(names), max(sum(spare), 1)
    counts = [extra * s // total for s in spare]  # exact: quota = extra * spare / total
    remainder = [extra * s % total for s in spare]
    for i in sorted(range(len(names)), key=lambda i: (-remainder[i], tie[i]))[: extra - sum(counts)]:
        counts[i] += 1  # only categories with a remainder get here, so each stays within its size
    return {c: 1 + k for c, k in zip(names, counts, strict=True)}


def part_counts(k: int, available: Mapping[str, int]) -> dict[str, int]:
    """How many of a category's ``k`` picks come from each part of the copy's split: test and
    validation as ``held_out_counts`` holds out of k influencers, the rest training, each within
    what the part has, a shortfall made up from the other parts (training first)."""
    from training.bags import held_out_counts

    n_test, n_val = held_out_counts(k, FRACTIONS)
    want = {"test": n_test, "val": n_val, "train": k - n_test - n_val}
    got = {part: min(want[part], available[part]) for part in PARTS}
    for part in PARTS:  # train, val, test
        more = min(k - sum(got.values()), available[part] - got[part])
        got[part] += more
    return got
