"""`scout dataset check`: what a dataset copy holds, as one JSON object or a short text summary."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from training.dataset.reader import open_dataset

log = logging.getLogger(__name__)

# The keys every check result has (the contract of `--json`), in print order.
KEYS = (
    "influencers",
    "by_category",
    "posts",
    "posts_missing_metadata",
    "images_missing",
    "duplicate_mapping_rows",
    "label_fixes",
)


def check_dataset(path: str | Path | Sequence[str | Path], parse: bool = True) -> dict[str, Any]:
    """Open the copy and count everything; with ``parse`` every metadata file is read too, so
    ``posts`` excludes posts whose metadata is unreadable (slow on the full public copy)."""
    with open_dataset(path) as ds:
        if parse:
            for _ in ds.iter_posts():
                pass
        report = ds.report.to_json()
        world = ds.read_meta_file()
    result: dict[str, Any] = {key: report[key] for key in KEYS}
    result["metadata_parsed"] = parse
    result.update({key: value for key, value in report.items() if key not in result})
    if world is not None:
        from training.synth.meta import load_world_meta

        meta = load_world_meta(path if isinstance(path, str | Path) else path[0])
        if meta is not None:
            result["world"] = {
                "seed": meta.knobs.seed,
                "image_size": meta.knobs.image_size,
                "split": {part: len(names) for part, names in meta.split.items()},
                "drifting_influencers": len(meta.drifts),
            }
    return result


def format_check(result: dict[str, Any]) -> str:
    """A few readable lines for a person at a terminal."""
    cats = ", ".join(f"{name} {count}" for name, count in result["by_category"].items())
    fixes = ", ".join(f"{bad} -> {good}" for bad, good in result["label_fixes"].items()) or "none"
    bad_meta = sum(result["posts_bad_metadata"].values())
    lines = [
        f"influencers: {result['influencers']} ({cats})",
        f"posts with metadata: {result['posts']} of {result['posts_mapped']} mapped"
        + ("" if result["metadata_parsed"] else " (metadata files not parsed; --quick)"),
        f"posts missing metadata: {result['posts_missing_metadata']}"
        + (f", unreadable metadata: {bad_meta}" if bad_meta else ""),
        f"images: {result['images_mapped']} mapped, {result['images_missing']} missing",
        f"duplicate mapping rows: {result['duplicate_mapping_rows']}",
        f"label fixes: {fixes}",
    ]
    if "world" in result:
        world = result["world"]
        split = ", ".join(f"{part} {n}" for part, n in world["split"].items())
        lines.append(
            f"synthetic world: seed {world['seed']}, {world['image_size']} px, split {split}, "
            f"{world['drifting_influencers']} drifting"
        )
    if result["warnings"]:
        lines.append(f"warnings: {len(result['warnings'])} (see the log above, or --json)")
    return "\n".join(lines)
