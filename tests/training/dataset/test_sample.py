"""A seeded sample of a copy's influencers: the draw, the split it keeps, and the reader's filter."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from training.bags import build_bags, split_bags
from training.dataset.categories import CATEGORIES
from training.dataset.reader import open_dataset
from training.dataset.sample import (
    SampleConfig,
    category_counts,
    copy_split,
    draw_sample,
    part_counts,
)
from training.encoders.features import collect_posts
from training.errors import SampleError
from training.synth.meta import load_world_meta


@pytest.fixture
def world_without_meta(tiny_world: Path, tmp_path: Path) -> Path:
    """The tiny world as a copy of the public dataset: no world.json, so no split of its own."""
    copy = tmp_path / "copy"
    shutil.copytree(tiny_world, copy)
    (copy / "world.json").unlink()
    return copy


def test_the_draw_is_seeded_and_respects_n(tiny_world: Path) -> None:
    first = draw_sample([tiny_world], SampleConfig(influencers=12, seed=5))
    again = draw_sample([tiny_world], SampleConfig(influencers=12, seed=5))
    other = draw_sample([tiny_world], SampleConfig(influencers=12, seed=6))
    assert first == again and first.key == again.key
    assert other.names != first.names and other.key != first.key
    assert len(first.names) == 12 == len(set(first.names)) and first.of == 36
    with open_dataset(tiny_world) as ds:
        order = ds.usernames()
    assert list(first.names) == [n for n in order if n in first.names]  # the copy's order
    assert first.to_dict() | {"key": None} == {
        "influencers": 12,
        "of": 36,
        "seed": 5,
        "split_source": "world.json",
        "split": {part: len(first.split[part]) for part in ("train", "val", "test")},
        "categories": dict(first.categories),
        "key": None,
    }


def test_the_sample_covers_every_category_and_keeps_the_worlds_split(tiny_world: Path) -> None:
    meta = load_world_meta(tiny_world)
    for n in (9, 14, 36):
        sample = draw_sample([tiny_world], SampleConfig(influencers=n, seed=1))
        assert set(sample.categories) == set(CATEGORIES) and sum(sample.categories.values()) == n
        for part, names in sample.split.items():
            assert set(names) <= set(meta.split[part]), "a sampled influencer keeps its world part"
        assert sorted(n for names in sample.split.values() for n in names) == sorted(sample.names)
    full = draw_sample([tiny_world], SampleConfig(influencers=36, seed=1))
    assert {part: set(v) for part, v in full.split.items()} == {p: set(v) for p, v in meta.split.items()}


def test_fewer_than_the_categories_takes_the_largest() -> None:
    sizes = {"beauty": 5, "food": 2, "pet": 9, "travel": 1}
    counts = category_counts(sizes, 2, np.random.default_rng(0))
    assert counts == {"beauty": 1, "food": 0, "pet": 1, "travel": 0}


def test_the_category_counts_follow_the_sizes() -> None:
    sizes = {"beauty": 30, "food": 10, "pet": 1, "travel": 59}
    for n in range(4, 101):
        counts = category_counts(sizes, n, np.random.default_rng(n))
        assert sum(counts.values()) == n
        assert all(1 <= counts[c] <= sizes[c] for c in sizes)
    assert category_counts(sizes, 28, np.random.default_rng(0)) == {
        "beauty": 8,
        "food": 3,
        "pet": 1,
        "travel": 16,
    }  # one each, then 24 shared by the 29 / 9 / 0 / 58 left: 7.25, 2.25, 0, 14.5 -> travel's .5 wins


def test_part_counts_hold_out_like_a_category_of_k() -> None:
    assert part_counts(1, {"train": 3, "val": 1, "test": 1}) == {"train": 1, "val": 0, "test": 0}
    assert part_counts(3, {"train": 3, "val": 1, "test": 1}) == {"train": 1, "val": 1, "test": 1}
    assert part_counts(3, {"train": 3, "val": 0, "test": 0}) == {"train": 3, "val": 0, "test": 0}
    assert part_counts(4, {"train": 1, "val": 1, "test": 2}) == {"train": 1, "val": 1, "test": 2}


def test_a_copy_without_world_json_keeps_the_copys_seeded_split(world_without_meta: Path) -> None:
    with open_dataset(world_without_meta) as ds:
        labels = {r.username: r.category for r in ds.influencers()}
        bags = build_bags(collect_posts(ds), labels)
    for seed in (0, 3):
        whole = split_bags(bags, [world_without_meta], seed=seed)  # the copy's split, from its posts
        from_index = copy_split(bags.names, labels, seed)
        assert {p: {bags.names[i] for i in v.tolist()} for p, v in whole.items()} == {
            p: {n for n, q in from_index.items() if q == p} for p in whole
        }
        sample = draw_sample([world_without_meta], SampleConfig(influencers=20, seed=2), split_seed=seed)
        assert sample.split_source == "seeded stratified split"
        for part, names in sample.split.items():
            assert all(from_index[n] == part for n in names)


def test_too_small_or_too_large_a_sample_is_refused(tiny_world: Path) -> None:
    with pytest.raises(SampleError, match="at least 2"):
        draw_sample([tiny_world], SampleConfig(influencers=1))
    with pytest.raises(SampleError, match="it has 36"):
        draw_sample([tiny_world], SampleConfig(influencers=37))


def test_only_the_sampled_influencers_posts_are_read(tiny_world: Path, tmp_path: Path) -> None:
    """The other influencers' metadata files are made unreadable: a read of any would be counted."""
    copy = tmp_path / "copy"
    shutil.copytree(tiny_world, copy)
    sample = draw_sample([copy], SampleConfig(influencers=10, seed=4))
    spoiled = 0
    for info in (copy / "info").iterdir():
        if not info.name.startswith(tuple(f"{n}-" for n in sample.names)):
            info.write_text("{not json")
            spoiled += 1
    assert spoiled > 0
    with open_dataset(copy, influencers=sample.names) as ds:
        assert ds.usernames() == list(sample.names)
        assert [r.username for r in ds.influencers()] == list(sample.names)
        table = collect_posts(ds)
        outside = next(n for n in load_world_meta(copy).labels if n not in sample.names)
        assert ds.posts_of(outside) == []  # asked for by name: still not read
        assert ds.report.posts_bad_metadata == {}
    assert list(dict.fromkeys(table.influencers.tolist())) == list(sample.names)
    with open_dataset(tiny_world) as ds:
        assert len(table) == len(collect_posts(ds, sample.names))
    with open_dataset(copy) as ds:  # the same copy read whole: the spoiled files are read and counted
        collect_posts(ds)
        assert sum(ds.report.posts_bad_metadata.values()) == spoiled
