"""The commit order of a micro-batch: every sink writes, then every sink flushes, in their order."""

from __future__ import annotations

import pandas as pd
import pytest

from streaming.job.commit import BatchCommitter
from streaming.job.sinks.base import DEAD_LETTER, PROFILE, Sink, SinkBatch


class RecordingSink(Sink):
    def __init__(self, name: str, journal: list[str], fail_flush: bool = False) -> None:
        self.name, self.journal, self.fail_flush = name, journal, fail_flush

    def write(self, batch: SinkBatch) -> int:
        self.journal.append(f"write {self.name} {batch.batch_id}")
        return len(batch.profiles)

    def flush(self) -> None:
        if self.fail_flush:
            raise RuntimeError("broker went away")
        self.journal.append(f"flush {self.name}")

    def close(self) -> None:
        self.journal.append(f"close {self.name}")


def _row(kind: str, influencer: str | None, category: str | None, previous: str | None, posts: list | None):
    return {"kind": kind, "influencer": influencer, "category": category, "previous_category": previous,
            "trigger_posts": posts}  # fmt: skip


def frame() -> pd.DataFrame:
    return pd.DataFrame([
        _row(PROFILE, "a", "food", None, ["1"]),
        _row(PROFILE, "b", "pet", "travel", ["2", "3"]),
        _row(PROFILE, "c", "pet", "pet", ["4"]),
        _row(DEAD_LETTER, None, None, None, None),
    ])  # fmt: skip


def test_sinks_write_in_order_then_flush_in_order() -> None:
    journal: list[str] = []
    committer = BatchCommitter([RecordingSink(n, journal) for n in ("dlq", "profiles", "similar")])
    report = committer.commit(7, frame())
    assert journal == [
        "write dlq 7", "write profiles 7", "write similar 7", "flush dlq", "flush profiles", "flush similar",
    ]  # fmt: skip
    assert report.posts == 4 and report.written == {"dlq": 3, "profiles": 3, "similar": 3}


def test_a_failed_flush_fails_the_batch_so_spark_does_not_commit_it() -> None:
    journal: list[str] = []
    committer = BatchCommitter([RecordingSink("profiles", journal, fail_flush=True)])
    with pytest.raises(RuntimeError):
        committer.commit(3, frame())
    assert committer.last_batch_id is None


def test_batch_splits_kinds_and_finds_real_category_changes() -> None:
    batch = SinkBatch.from_frame(1, frame())
    assert list(batch.profiles["influencer"]) == ["a", "b", "c"]
    assert len(batch.dead_letters) == 1
    assert list(batch.reclassified["influencer"]) == ["b"]  # a: first classification; c: unchanged
