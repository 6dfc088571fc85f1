"""The one shape every sink has: ``write(batch)`` then ``flush()``, and ``close()`` at the end.

A sink receives the whole micro-batch (``SinkBatch``) and takes the rows it cares about; adding an
output is adding a class, never a branch in the foreachBatch function. ``write`` may buffer;
``flush`` returns only when everything written so far is durable (acknowledged by the broker,
saved), because the commit order (streaming.job.commit) lets Spark commit the batch right after.
Writes are idempotent per key: writing the same batch twice leaves the same final values.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from streaming.events import utc_timestamp

# The kinds of the state stage's output rows (a ``kind`` column): a profile, a dead letter.
PROFILE = "profile"
DEAD_LETTER = "dead_letter"


@dataclass(frozen=True)
class SinkBatch:
    """One micro-batch of the state stage's output, split by kind (pandas frames).

    Profiles have streaming.job.stateful.PROFILE_COLUMNS, dead letters the embed stage's columns,
    undisclosed posts streaming.job.stateful.UNDISCLOSED_COLUMNS.
    """

    batch_id: int
    profiles: pd.DataFrame  # one row per influencer updated in this batch
    dead_letters: pd.DataFrame  # records rejected by parse or embed
    undisclosed: pd.DataFrame = field(default_factory=pd.DataFrame)  # flagged posts: undisclosed, likely ads

    @classmethod
    def from_frame(cls, batch_id: int, frame: pd.DataFrame) -> SinkBatch:
        return cls(
            batch_id,
            frame[frame["kind"] == PROFILE].reset_index(drop=True),
            frame[frame["kind"] == DEAD_LETTER].reset_index(drop=True),
        )

    @property
    def reclassified(self) -> pd.DataFrame:
        """Profiles whose top category changed in this batch (a first classification is no change)."""
        p = self.profiles
        changed = p["previous_category"].notna() & (p["previous_category"] != p["category"])
        return p[changed].reset_index(drop=True)


class Sink(ABC):
    """An output of the job."""

    name: str = "sink"

    @abstractmethod
    def write(self, batch: SinkBatch) -> int:
        """Queue this batch's records; returns how many were queued."""

    @abstractmethod
    def flush(self) -> None:
        """Block until everything written is durable."""

    @abstractmethod
    def close(self) -> None:
        """Release connections (after a final flush)."""


def iso_time(value: datetime | pd.Timestamp | None) -> str | None:
    """A timestamp in the events' format (streaming.events.utc_timestamp), None for a missing one."""
    return None if value is None or pd.isna(value) else utc_timestamp(value)
