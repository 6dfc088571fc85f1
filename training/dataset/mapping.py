"""Parsing influencers.txt and JSON-Image_files_mapping.txt as real copies write them.

Both take lines and a DatasetReport; every odd line is counted there and warned about once per
kind, none raises. The mapping is read one influencer at a time (``mapping_index``); this module
holds the rules for one line (``mapping_fields``) and for merging one influencer's rows
(``merge_rows``). Known defects: a separator line under the header, misspelled labels (``fasion``,
``pets``), duplicate mapping rows, image lists that are Python literals (sometimes broken), rows
whose fields are separated by spaces instead of tabs.
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from training.dataset import layout
from training.dataset.categories import CATEGORIES, canonical_label
from training.dataset.records import InfluencerRecord
from training.dataset.report import DatasetReport, category_counts

log = logging.getLogger(__name__)

_ESCAPES = {"\\", "\0"}  # a backslash or a null byte: left to ast.literal_eval
_QUOTED = re.compile(r"""['"]([^'"]+)['"]""")


def _fields(line: str, expected: int) -> list[str]:
    parts = [p.strip() for p in line.rstrip("\r\n").split("\t")]
    if len(parts) != expected:
        parts = line.split(maxsplit=expected - 1)
    return parts


def _count(text: str) -> int:
    return int(text.replace(",", "").strip())


def parse_influencers(lines: Iterable[str], report: DatasetReport) -> list[InfluencerRecord]:
    """influencers.txt -> records in file order (first row of a repeated username wins)."""
    records: dict[str, InfluencerRecord] = {}
    bad: list[str] = []
    fixed: list[str] = []
    unknown: list[str] = []
    duplicates: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if layout.is_separator_line(line):
            report.separator_lines += 1
            continue
        parts = _fields(line, 5)
        if parts and parts[0].strip().lower().rstrip(",") == "username":
            continue  # the header (tab- or comma-separated)
        try:
            username, raw_label = parts[0], parts[1]
            followers, followees, posts = (_count(p) for p in parts[2:5])
            if len(parts) != 5 or not username:
                raise ValueError(f"{len(parts)} fields")
        except (ValueError, IndexError):
            report.bad_influencer_rows += 1
            bad.append(f"line {number}")
            continue
        try:
            category, was_fixed = canonical_label(raw_label)
        except KeyError:
            report.unknown_labels[raw_label] = report.unknown_labels.get(raw_label, 0) + 1
            unknown.append(f"{username}: {raw_label!r}")
            continue
        if was_fixed:
            report.label_fixes[raw_label.strip()] = category
            report.label_fixed_rows += 1
            fixed.append(f"{raw_label!r} -> {category!r}")
        if username in records:
            report.duplicate_influencers += 1
            duplicates.append(username)
            continue
        records[username] = InfluencerRecord(username, category, followers, followees, posts)
    result = list(records.values())
    report.influencers = len(result)
    report.by_category = category_counts([r.category for r in result], CATEGORIES)
    report.warn(
        "bad_influencer_rows",
        report.bad_influencer_rows,
        "rows of influencers.txt could not be parsed and were skipped",
        bad,
    )
    report.warn(
        "label_fixes", report.label_fixed_rows, "labels were misspelled and corrected", sorted(set(fixed))
    )
    report.warn(
        "unknown_labels",
        sum(report.unknown_labels.values()),
        "influencers have a category that is not one of the nine and were skipped "
        "(their posts keep label None)",
        unknown,
    )
    report.warn(
        "duplicate_influencers",
        report.duplicate_influencers,
        "usernames are listed twice in influencers.txt; the first row is kept",
        duplicates,
    )
    return result


@dataclass
class MappedPost:
    """One post as the mapping names it: its metadata file and its images (base names, no prefix)."""

    json_name: str
    image_names: list[str] = field(default_factory=list)

    @property
    def post_id(self) -> str:
        return layout.post_id_of(self.json_name)


def parse_image_list(text: str) -> list[str] | None:
    """ "['a.jpg', 'b.jpg']" -> ['a.jpg', 'b.jpg']; None when the literal is broken."""
    text = text.strip()
    plain = _plain_list(text)
    if plain is not None:
        return plain
    try:
        value = ast.literal_eval(text) if text else []
    except (ValueError, SyntaxError):
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _plain_list(text: str) -> list[str] | None:
    """The list literal as the public files write it (single-quoted names, no escapes), read
    without compiling it; None for anything else (then ``ast.literal_eval`` decides)."""
    if len(text) < 2 or text[0] != "[" or text[-1] != "]":
        return None
    inner = text[1:-1]
    if not inner:
        return []
    names = inner.split(", ")
    for name in names:
        if len(name) < 2 or name[0] != "'" or name[-1] != "'" or "'" in name[1:-1] or _ESCAPES & set(name):
            return None
    return [name[1:-1] for name in names]


def mapping_fields(line: str) -> list[str] | None:
    """The fields of one line of the mapping (influencer, metadata file, image list text); None
    for a line that is no row (blank, a separator, the header). See ``usable_row``."""
    if not line.strip() or layout.is_separator_line(line):
        return None
    parts = _fields(line, 3)
    if parts and parts[0].strip().lower() == layout.MAPPING_HEADER[0].lower():
        return None
    return parts


def usable_row(parts: list[str]) -> bool:
    """A row names an influencer and a metadata file (else it is a bad row, counted and skipped)."""
    return len(parts) >= 2 and bool(parts[0]) and bool(parts[1])


@dataclass
class MergedPosts:
    """One influencer's rows merged into posts (file order), with what merging found (line numbers)."""

    posts: list[MappedPost]
    broken_lists: list[int] = field(default_factory=list)  # rows whose image list was salvaged
    duplicates: list[tuple[int, str]] = field(default_factory=list)  # (line, "influencer/metadata file")


def merge_rows(rows: Iterable[tuple[int, list[str]]]) -> MergedPosts:
    """(line number, fields) of one influencer's rows, in file order -> its posts: a repeated row
    is merged into the first, its new images appended."""
    posts: dict[str, MappedPost] = {}
    merged = MergedPosts([])
    for number, parts in rows:
        influencer, json_name = parts[0], parts[1]
        images = parse_image_list(parts[2]) if len(parts) == 3 else []
        if images is None:
            merged.broken_lists.append(number)
            images = _QUOTED.findall(parts[2])
        known = posts.get(json_name)
        if known is None:
            posts[json_name] = MappedPost(json_name, list(dict.fromkeys(images)))
            continue
        merged.duplicates.append((number, f"{influencer}/{json_name}"))
        known.image_names.extend(n for n in images if n not in known.image_names)
    merged.posts = list(posts.values())
    return merged
