"""``world.json``: what a synthetic world knows and the public dataset does not.

The knobs (seed included), the held-out split of influencers, each influencer's secondary
interest and any drift, and every post's true topic and sponsorship (``ad``: "disclosed",
"undisclosed" or None; the brand it names). Posts are rows of ``post_fields`` to stay compact at
hundreds of thousands of posts. ``load_world_meta(path)`` returns None for a
copy without it (the public dataset), so callers can treat both alike.

    meta = load_world_meta("data/world")
    meta.split["test"], meta.drifts["mia.kim007"].start_ts, meta.truth("2091...").kind
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from training.dataset.archive import WORLD_META_FILE, DatasetFiles
from training.errors import DatasetError
from training.synth.knobs import WorldKnobs

FORMAT = "influencer-scout-world"
FORMAT_VERSION = 2  # 2 added each post's ad and brand; version 1 files still read (no ads)
_READS = (1, 2)


@dataclass(frozen=True, slots=True)
class PostTruth:
    post_id: str
    kind: str  # on_topic | generic | off_topic
    category: str | None  # the post's topic; None for generic posts
    styled: bool
    motif: str  # what its images show (differs from category when a close pair mixed images)
    ad: str | None = None  # "disclosed" / "undisclosed" for a paid post; None for an unpaid one
    brand: str | None = None  # the brand the post names, paid or not (None: it names none)


_POST_FIELDS = ("post_id", "kind", "category", "styled", "motif", "ad", "brand")


@dataclass(frozen=True, slots=True)
class DriftTruth:
    influencer: str
    from_category: str
    to_category: str
    start_index: int  # index, in time order, of the first post on the new category
    start_post_id: str
    start_ts: datetime


@dataclass(frozen=True)
class WorldMeta:
    knobs: WorldKnobs
    split: dict[str, tuple[str, ...]]  # train / val / test -> usernames
    labels: dict[str, str]  # username -> label in influencers.txt (the category before any drift)
    secondary: dict[str, str]  # username -> secondary interest
    drifts: dict[str, DriftTruth]
    posts: dict[str, tuple[PostTruth, ...]]  # username -> posts in time order
    text_close: tuple[tuple[str, str], ...]
    image_close: tuple[tuple[str, str], ...]
    defects: dict[str, list[str]] = field(default_factory=dict)  # kind -> affected names
    _by_id: dict[str, PostTruth] = field(default_factory=dict, repr=False, compare=False)

    def split_of(self, username: str) -> str:
        for part, names in self.split.items():
            if username in names:
                return part
        raise KeyError(f"{username} is in no split of this world")

    def truth(self, post_id: str) -> PostTruth:
        if not self._by_id:
            self._by_id.update((t.post_id, t) for truths in self.posts.values() for t in truths)
        return self._by_id[post_id]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "knobs": self.knobs.to_dict(),
            "pairs": {
                "text_close": [list(p) for p in self.text_close],
                "image_close": [list(p) for p in self.image_close],
            },
            "split": {part: list(names) for part, names in self.split.items()},
            "influencers": {
                name: {"category": label, "secondary": self.secondary[name]}
                for name, label in self.labels.items()
            },
            "drifts": [
                {
                    "influencer": d.influencer,
                    "from": d.from_category,
                    "to": d.to_category,
                    "start_index": d.start_index,
                    "start_post_id": d.start_post_id,
                    "start_ts": d.start_ts.isoformat(),
                }
                for d in self.drifts.values()
            ],
            "post_fields": list(_POST_FIELDS),
            "posts": {
                name: [[t.post_id, t.kind, t.category, int(t.styled), t.motif, t.ad, t.brand] for t in truths]
                for name, truths in self.posts.items()
            },
            "defects": self.defects,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorldMeta:
        if data.get("format") != FORMAT or data.get("format_version") not in _READS:
            raise DatasetError(
                f"world metadata is {data.get('format')!r} v{data.get('format_version')}, this code "
                f"reads {FORMAT!r} v{FORMAT_VERSION}; regenerate the world with `scout generate`"
            )
        return cls(
            knobs=WorldKnobs.from_dict(data["knobs"]),
            split={part: tuple(names) for part, names in data["split"].items()},
            labels={name: info["category"] for name, info in data["influencers"].items()},
            secondary={name: info["secondary"] for name, info in data["influencers"].items()},
            drifts={
                d["influencer"]: DriftTruth(
                    d["influencer"],
                    d["from"],
                    d["to"],
                    d["start_index"],
                    d["start_post_id"],
                    datetime.fromisoformat(d["start_ts"]),
                )
                for d in data["drifts"]
            },
            posts={
                name: tuple(PostTruth(row[0], row[1], row[2], bool(row[3]), *row[4:]) for row in rows)
                for name, rows in data["posts"].items()
            },
            text_close=tuple(tuple(p) for p in data["pairs"]["text_close"]),  # type: ignore[misc]
            image_close=tuple(tuple(p) for p in data["pairs"]["image_close"]),  # type: ignore[misc]
            defects=data.get("defects", {}),
        )


def load_world_meta(path: str | Path) -> WorldMeta | None:
    """The world metadata of a dataset folder or archive (or a ``world.json`` itself); None if absent."""
    path = Path(path)
    if path.is_file() and path.name == WORLD_META_FILE:
        raw = path.read_bytes()
    elif (path / WORLD_META_FILE).is_file():
        raw = (path / WORLD_META_FILE).read_bytes()
    else:
        files = DatasetFiles([path])
        try:
            member = files.meta.get(WORLD_META_FILE)
            if member is None:
                return None
            raw = files.read(member)
        finally:
            files.close()
    try:
        return WorldMeta.from_json(json.loads(raw))
    except (ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{path}: world metadata is unreadable ({exc}); regenerate the world") from exc
