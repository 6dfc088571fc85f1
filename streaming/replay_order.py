"""A dataset's posts in global time order, in memory bounded by a run, not by the dataset.

The reader yields posts grouped by influencer; a replay sends them by time across influencers.
``time_ordered`` is an external merge sort: it sorts runs of at most ``run_size`` records, spills
each run to a temporary file (pickled records, one after another), and merges the runs with
``heapq.merge``, which holds one record per run. The merged order is written once more to one
file while the posts it holds are counted, so a replay knows how many events it will send before
it sends the first, then reads the order back one record at a time. A copy that fits one run is
sorted in memory, with no files.

The order is the one of ``sorted(posts, key=time_key)``: time, then influencer, then post id.
"""

from __future__ import annotations

import heapq
import itertools
import pickle
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from training.dataset.records import PostRecord

# Records per sorted run: ~100 MB of post records with their captions.
RUN_SIZE = 100_000


def time_key(record: PostRecord) -> tuple[Any, str, str]:
    return (record.ts, record.influencer, record.post_id)


def _write_all(records: Iterable[PostRecord], handle: IO[bytes]) -> None:
    for record in records:  # one pickle per record: no memo keeps the earlier ones alive
        pickle.dump(record, handle, protocol=pickle.HIGHEST_PROTOCOL)


def _read_all(path: Path) -> Iterator[PostRecord]:
    with path.open("rb") as handle:
        while True:
            try:
                yield pickle.load(handle)
            except EOFError:
                return


@dataclass
class OrderedPosts:
    """The posts in time order (iterable again and again) and what a replay counts before sending."""

    count: int = 0
    with_images: int = 0
    last_with_image: PostRecord | None = None
    runs: int = 1  # sorted runs the posts were spilled in (1: sorted in memory)
    _in_memory: list[PostRecord] | None = None
    _folder: tempfile.TemporaryDirectory[str] | None = None

    def __iter__(self) -> Iterator[PostRecord]:
        if self._in_memory is not None:
            return iter(self._in_memory)
        return _read_all(self._path())

    def _path(self) -> Path:
        assert self._folder is not None, "closed"
        return Path(self._folder.name) / "ordered.pkl"

    def close(self) -> None:
        """Remove the spilled order now (otherwise it goes when the object is collected)."""
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def _count(self, records: Iterable[PostRecord]) -> Iterator[PostRecord]:
        for record in records:
            self.count += 1
            if record.image_paths:
                self.with_images += 1
                self.last_with_image = record
            yield record


def _runs(posts: Iterable[PostRecord], run_size: int, folder: Path) -> list[Path]:
    paths = []
    iterator = iter(posts)
    while run := list(itertools.islice(iterator, run_size)):
        run.sort(key=time_key)
        path = folder / f"run-{len(paths):05d}.pkl"
        with path.open("wb") as handle:
            _write_all(run, handle)
        paths.append(path)
        del run
    return paths


def time_ordered(
    posts: Iterable[PostRecord], limit: int | None = None, run_size: int = RUN_SIZE
) -> OrderedPosts:
    """The first ``limit`` posts (all by default) in time order. Spilled runs live in a temporary
    folder that goes with the returned object (``close()``, or when it is collected)."""
    assert run_size > 0, "run_size must be positive"
    iterator = iter(posts)
    head = list(itertools.islice(iterator, run_size + 1))
    if len(head) <= run_size:  # fits one run: sort in memory
        head.sort(key=time_key)
        ordered = OrderedPosts()
        ordered._in_memory = list(ordered._count(head[:limit]))
        return ordered
    folder = tempfile.TemporaryDirectory(prefix="scout-replay-")
    runs = _runs(itertools.chain(head, iterator), run_size, Path(folder.name))
    del head
    ordered = OrderedPosts(runs=len(runs), _folder=folder)
    merged = heapq.merge(*(_read_all(path) for path in runs), key=time_key)
    with ordered._path().open("wb") as handle:
        _write_all(ordered._count(itertools.islice(merged, limit)), handle)
    for path in runs:
        path.unlink()
    return ordered
