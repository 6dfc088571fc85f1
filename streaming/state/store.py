"""The influencer state store: one SQLite file, written once per micro-batch with the batch id.

    store = StateStore(checkpoint_dir / "state.sqlite")
    prior = store.read(names, dim)            # a StateBatch; influencers not seen yet are new (n = 0)
    store.commit(batch_id, folded_states)     # every state and the batch id in one transaction
    store.last_batch_id                       # -1 before the first commit

A commit is atomic (SQLite's write-ahead log, synchronous=FULL): after a crash at any moment the file
holds either every state of a batch and its id, or none of them. That is what makes the state exactly
once beside Spark's checkpoint (streaming.job.commit says in which order the two are written).

A state row keeps n, m, Z (REAL: IEEE float64, bit for bit), S as float64 bytes, the top-k posts as
JSON (floats written by ``repr``, so they read back exactly), the last published category, the
pooled text sums, the engagement tally and the sponsorship tally as float64 bytes, the brands and the
likely-undisclosed posts as JSON. The store's format is its columns (STORE_FORMAT counts them: 1 the
attention alone, 2 with the text sums and the tally, 3 with the sponsorship state); a store of an
earlier format is refused with what to do (its states cannot be completed without the old posts).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from streaming.errors import StateStoreError
from streaming.state.fold import StateBatch
from streaming.state.online_softmax import TopPost
from streaming.state.sponsorship import Brands, LikelyPost

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS influencer (
    name TEXT PRIMARY KEY, n INTEGER NOT NULL, m REAL NOT NULL, z REAL NOT NULL, s BLOB NOT NULL,
    top TEXT NOT NULL, category TEXT, text BLOB NOT NULL, tally BLOB NOT NULL,
    sponsor BLOB NOT NULL, brands TEXT NOT NULL, likely TEXT NOT NULL
) WITHOUT ROWID;
"""
_COLUMNS = ("name", "n", "m", "z", "s", "top", "category", "text", "tally", "sponsor", "brands", "likely")
STORE_FORMAT = 3
_LAST_BATCH = "last_batch_id"


def _top_json(top: Sequence[TopPost]) -> str:
    return json.dumps([[p.post_id, p.score, p.image_uri, p.caption, p.ts_seconds] for p in top])


def _top_from_json(text: str) -> tuple[TopPost, ...]:
    return tuple(TopPost(str(i), float(sc), u, str(c), float(t)) for i, sc, u, c, t in json.loads(text))


def _likely_json(likely: Sequence[LikelyPost]) -> str:
    return json.dumps([[p.post_id, p.probability, p.ts_seconds, list(p.brands)] for p in likely])


def _likely_from_json(text: str) -> tuple[LikelyPost, ...]:
    return tuple(LikelyPost(str(i), float(p), float(t), tuple(b)) for i, p, t, b in json.loads(text))


def _brands_from_json(text: str) -> Brands:
    return tuple((str(brand), int(posts), int(shown)) for brand, posts, shown in json.loads(text))


class StateStore:
    """Influencer states by name, and the id of the last micro-batch they include."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StateStoreError(f"cannot open the state store {path}: {exc}") from exc
        columns = tuple(row[1] for row in self._db.execute("PRAGMA table_info(influencer)"))
        if columns != _COLUMNS:
            self._db.close()
            raise StateStoreError(
                f"the state store {path} has the columns {columns}, this job writes {_COLUMNS} "
                f"(format {STORE_FORMAT}: the pooled text vector, the engagement tally and the sponsorship "
                "state); start the job on a fresh spark.checkpoint_dir (it replays `posts` from the topic's "
                "retention)"
            )
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (_LAST_BATCH,)).fetchone()
        self.last_batch_id = int(row[0]) if row else -1
        self.size = int(self._db.execute("SELECT count(*) FROM influencer").fetchone()[0])
        log.info("state store %s: %d influencers through batch %d", path, self.size, self.last_batch_id)

    def read(self, names: Sequence[str], dim: int, text_dim: int = 0) -> StateBatch:
        """The states of ``names`` in that order (one query); unknown names come back new."""
        found = {
            name: row
            for name, *row in self._db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM influencer "
                "WHERE name IN (SELECT value FROM json_each(?))",
                (json.dumps(list(names)),),
            )
        }
        batch = StateBatch.new(names, dim, text_dim)
        if not found:
            return batch
        top, category = list(batch.top), list(batch.category)
        brands, likely = list(batch.brands), list(batch.likely)
        for g, name in enumerate(names):
            row = found.get(name)
            if row is None:
                continue
            n, m, z, s, top_text, last, text, tally, sponsor, brands_text, likely_text = row
            batch.n[g], batch.m[g], batch.z[g] = n, m, z
            batch.s[g] = np.frombuffer(s, dtype=np.float64)
            batch.text[g] = np.frombuffer(text, dtype=np.float64)
            batch.tally[g] = np.frombuffer(tally, dtype=np.float64)
            batch.sponsor[g] = np.frombuffer(sponsor, dtype=np.float64)
            top[g], category[g] = _top_from_json(top_text), last
            brands[g], likely[g] = _brands_from_json(brands_text), _likely_from_json(likely_text)
        return dataclasses.replace(
            batch, top=tuple(top), category=tuple(category), brands=tuple(brands), likely=tuple(likely)
        )

    def commit(self, batch_id: int, states: StateBatch, added: int) -> None:
        """Write ``states`` and ``batch_id`` in one transaction; ``added`` of the states are new."""

        def blob(values: np.ndarray) -> bytes:
            return np.ascontiguousarray(values, np.float64).tobytes()

        rows = [
            (name, int(n), float(m), float(z), blob(s), _top_json(t), c, blob(text), blob(tally),
             blob(sponsor), json.dumps(brands), _likely_json(likely))
            for name, n, m, z, s, t, c, text, tally, sponsor, brands, likely in zip(
                states.names,
                states.n,
                states.m,
                states.z,
                states.s,
                states.top,
                states.category,
                states.text,
                states.tally,
                states.sponsor,
                states.brands,
                states.likely,
                strict=True,
            )
        ]  # fmt: skip
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                f"INSERT OR REPLACE INTO influencer VALUES ({', '.join('?' * len(_COLUMNS))})", rows
            )
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_LAST_BATCH, str(batch_id)))
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise StateStoreError(
                f"writing batch {batch_id} to the state store {self.path} failed: {exc}"
            ) from exc
        self.last_batch_id = batch_id
        self.size += added

    def close(self) -> None:
        self._db.close()
