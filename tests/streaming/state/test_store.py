"""The state store reads back exactly what it committed, with the batch id, in one transaction."""

from __future__ import annotations

import dataclasses

import numpy as np

from streaming.state.fold import StateBatch
from streaming.state.online_softmax import TopPost
from streaming.state.store import StateStore


def _states(names: list[str], seed: int) -> StateBatch:
    rng = np.random.default_rng(seed)
    g = len(names)
    top = tuple(
        (TopPost(f"{name}-1", float(rng.normal()), None, "snip é", 1.7e9 + 0.125),
         TopPost(f"{name}-2", -1 / 3, "file:///x.jpg", "", 1.7e9))
        for name in names
    )  # fmt: skip
    return StateBatch(tuple(names), rng.integers(1, 50, g), rng.normal(0, 5, g), rng.uniform(1, 9, g),
                      rng.normal(0, 1, (g, 6)), top, tuple(f"cat{i}" for i in range(g)))  # fmt: skip


def test_committed_states_read_back_bit_for_bit_and_unknown_names_are_new(tmp_path) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    assert store.last_batch_id == -1 and store.size == 0
    written = _states(["a", "b", "c"], seed=1)
    store.commit(0, written, added=3)
    store.close()

    store = StateStore(tmp_path / "state.sqlite")  # reopened: as after a restart
    assert store.last_batch_id == 0 and store.size == 3
    read = store.read(["c", "new", "a"], dim=6)
    assert read.names == ("c", "new", "a")
    for got, want in ((2, 0), (0, 2)):
        w = [0, 1, 2][want]
        assert read.n[got] == written.n[w] and read.m[got] == written.m[w] and read.z[got] == written.z[w]
        assert np.array_equal(read.s[got], written.s[w])  # float64 exactly
        assert read.top[got] == written.top[w] and read.category[got] == written.category[w]
    assert read.n[1] == 0 and read.m[1] == -np.inf and read.top[1] == () and read.category[1] is None
    assert not read.s[1].any()


def test_a_commit_replaces_states_and_moves_the_batch_id(tmp_path) -> None:
    store = StateStore(tmp_path / "state.sqlite")
    store.commit(0, _states(["a", "b"], seed=1), added=2)
    again = _states(["b", "d"], seed=2)
    store.commit(1, again, added=1)
    assert store.last_batch_id == 1 and store.size == 3
    read = store.read(["b", "d"], dim=6)
    assert np.array_equal(read.s, again.s) and list(read.n) == list(again.n)


def test_text_sums_and_tally_read_back_exactly_and_an_older_store_is_refused(tmp_path) -> None:
    import sqlite3

    import pytest

    from streaming.errors import StateStoreError
    from streaming.state.sponsorship import LikelyPost

    rng = np.random.default_rng(4)
    written = _states(["a", "b"], seed=3)
    brands = ((("acme", 3, 2), ("café_b", 1, 0)), ())
    likely = ((LikelyPost("a-9", 2 / 3, 1.7e9 + 0.5, ("acme", "bob")),), ())
    written = dataclasses.replace(
        written, text=rng.normal(0, 1, (2, 5)), tally=rng.normal(0, 1, (2, 6)),
        sponsor=rng.uniform(0, 9, (2, 4)), brands=brands, likely=likely,
    )  # fmt: skip
    store = StateStore(tmp_path / "state.sqlite")
    store.commit(0, written, added=2)
    read = store.read(["b", "a"], dim=6, text_dim=5)
    assert np.array_equal(read.text, written.text[::-1]) and np.array_equal(read.tally, written.tally[::-1])
    assert np.array_equal(read.sponsor, written.sponsor[::-1])  # float64 exactly
    assert read.brands == brands[::-1] and read.likely == likely[::-1]
    store.close()

    old = sqlite3.connect(tmp_path / "old.sqlite")
    old.execute("CREATE TABLE influencer (name TEXT PRIMARY KEY, n INTEGER, m REAL, z REAL, s BLOB, "
                "top TEXT, category TEXT)")  # fmt: skip
    old.close()
    with pytest.raises(StateStoreError, match="fresh spark.checkpoint_dir"):
        StateStore(tmp_path / "old.sqlite")
    # a store of format 2 (the text sums and the tally, no sponsorship state) is refused too
    older = sqlite3.connect(tmp_path / "v2.sqlite")
    older.execute("CREATE TABLE influencer (name TEXT PRIMARY KEY, n INTEGER, m REAL, z REAL, s BLOB, "
                  "top TEXT, category TEXT, text BLOB, tally BLOB)")  # fmt: skip
    older.close()
    with pytest.raises(StateStoreError, match="format 3.*sponsorship state.*fresh spark.checkpoint_dir"):
        StateStore(tmp_path / "v2.sqlite")
