"""What a dataset copy holds and every defect found in it: counts, never silent drops."""

from __future__ import annotations

import heapq
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger(__name__)

_EXAMPLES = 3  # example names quoted per warning


@dataclass
class DatasetReport:
    """Counts of one dataset copy. Filled when it is opened; reading posts adds the metadata
    problems found only by parsing (``posts`` shrinks, ``posts_bad_metadata`` grows, each post once)."""

    influencers: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    label_fixes: dict[str, str] = field(default_factory=dict)  # misspelling -> canonical
    label_fixed_rows: int = 0
    unknown_labels: dict[str, int] = field(default_factory=dict)
    separator_lines: int = 0
    bad_influencer_rows: int = 0
    duplicate_influencers: int = 0
    influencers_unlisted: int = 0  # in the mapping but not in influencers.txt
    influencers_without_posts: int = 0
    mapping_rows: int = 0
    bad_mapping_rows: int = 0
    bad_image_lists: int = 0
    duplicate_mapping_rows: int = 0
    posts_mapped: int = 0  # distinct (influencer, metadata file) pairs in the mapping
    posts: int = 0  # posts with readable metadata, each counted once
    posts_missing_metadata: int = 0
    posts_bad_metadata: dict[str, int] = field(default_factory=dict)  # reason -> posts
    owner_mismatches: int = 0
    multi_image_posts: int = 0
    images_mapped: int = 0
    images_missing: int = 0
    info_unmapped: int = 0  # metadata files no mapping row names
    duplicate_members: int = 0  # the same file found in two places (folder and archive)
    archives: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def warn(self, kind: str, count: int, what: str, examples: list[str] | None = None) -> None:
        """Log one warning per defect kind (not per record) and keep it for the report."""
        if count <= 0:
            return
        shown = ", ".join(examples[:_EXAMPLES]) if examples else ""
        more = f" (e.g. {shown})" if shown else ""
        message = f"{kind}: {count} {what}{more}"
        self.warnings.append(message)
        log.warning(message)

    def bad_metadata(self, reason: str) -> None:
        self.posts -= 1
        self.posts_bad_metadata[reason] = self.posts_bad_metadata.get(reason, 0) + 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def category_counts(categories: list[str], known: tuple[str, ...]) -> dict[str, int]:
    counts = Counter(categories)
    return {name: counts.get(name, 0) for name in known}


class Examples:
    """A count and the first few examples of one defect (``by_line``: the lowest line numbers, for
    defects found influencer by influencer but quoted in file order); memory stays a few names."""

    KEEP = _EXAMPLES

    def __init__(self, by_line: bool = False) -> None:
        self.by_line = by_line
        self.count = 0
        self._kept: list = []

    def extend(self, items: Iterable[Any]) -> None:
        for item in items:
            self.count += 1
            if self.by_line:
                self._kept = heapq.nsmallest(self.KEEP, [*self._kept, item])
            elif len(self._kept) < self.KEEP:
                self._kept.append(item)

    @property
    def examples(self) -> list[str]:
        return [item[1] for item in self._kept] if self.by_line else list(self._kept)
