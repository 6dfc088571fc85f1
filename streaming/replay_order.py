"""A dataset's posts in global time order, in memory bounded by a run, not by the dataset.

The reader yields posts grouped by influencer; a replay sends them by time across influencers.
``time_ordered`` is an external merge sort: it sorts runs of at most ``run_size`` records, spills
each run to a temporary file (pickled records, one after another) while counting what a replay
needs to know before it sends (how many posts, how many with an image, the last of those), and
each iteration merges the runs with ``heapq.merge``, which holds one record per run. A copy that
fits one run is sorted in memory, with no files.

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
    limit: int | None = None
    _in_memory: list[PostRecord] | None = None
    _run_paths: tuple[Path, ...] = ()
    _folder: tempfile.TemporaryDirectory[str] | None = None

    def __iter__(self) -> Iterator[PostRecord]:
        if self._in_memory is not None:
            return iter(self._in_memory)
        assert self._folder is not None, "closed"
        merged = heapq.merge(*(_read_all(path) for path in self._run_paths), key=time_key)
        return itertools.islice(merged, self.limit)

    def close(self) -> None:
        """Remove the spilled runs now (otherwise they go when the object is collected)."""
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def _count(self, records: Iterable[PostRecord]) -> Iterator[PostRecord]:
        """Pass ``records`` on, counting them (records come in time order)."""
        for record in records:
            self.count += 1
            if record.image_paths:
                self.with_images += 1
                if self.last_with_image is None or time_key(record) > time_key(self.last_with_image):
                    self.last_with_image = record
            yield record


def _runs(posts: Iterable[PostRecord], run_size: int, folder: Path) -> tuple[Path, ...]:
    paths = []
    iterator = iter(posts)
    while run := list(itertools.islice(iterator, run_size)):
        run.sort(key=time_key)
        path = folder / f"run-{len(paths):05d}.pkl"
        with path.open("wb") as handle:
            _write_all(run, handle)
        paths.append(path)
        del run
    return tuple(paths)


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
    counted = OrderedPosts()  # counts every post while the runs are written
    runs = _runs(counted._count(itertools.chain(head, iterator)), run_size, Path(folder.name))
    del head
    ordered = OrderedPosts(runs=len(runs), _run_paths=runs, _folder=folder)
    if limit is None or limit >= counted.count:
        ordered.count, ordered.with_images = counted.count, counted.with_images
        ordered.last_with_image = counted.last_with_image
    else:  # the first `limit` in time order: one merge pass to count them
        ordered.limit = limit
        for _ in ordered._count(iter(ordered)):
            pass
    return ordered
