"""`scout dataset check`: what a dataset copy holds, as one JSON object or a short text summary."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from training.dataset.reader import open_dataset

log = logging.getLogger(__name__)

SPONSORSHIP_KEYS = ("posts_sponsor_tag", "posts_disclosure_marker", "posts_brand_mention")

# The keys every check result has (the contract of `--json`), in print order.
KEYS = (
    "influencers",
    "by_category",
    "posts",
    "posts_missing_metadata",
    "images_missing",
    "duplicate_mapping_rows",
    "label_fixes",
    "posts_sponsor_tag",
    "posts_disclosure_marker",
)


def check_dataset(path: str | Path | Sequence[str | Path], parse: bool = True) -> dict[str, Any]:
    """Open the copy and count everything; with ``parse`` every metadata file is read too, so
    ``posts`` excludes posts whose metadata is unreadable (slow on the full public copy), and the
    sponsorship counts are filled: posts with the paid-partnership tag (a sponsor account or the
    is_paid_partnership flag), posts with a disclosure marker (#ad, "paid partnership"...), and
    posts naming an account (tagged or @mentioned). Without ``parse`` those counts are None."""
    sponsorship: dict[str, int | None] = dict.fromkeys(SPONSORSHIP_KEYS)
    with open_dataset(path) as ds:
        if parse:
            sponsorship = dict.fromkeys(SPONSORSHIP_KEYS, 0)
            for post in ds.iter_posts():
                sponsorship["posts_sponsor_tag"] += post.sponsored  # type: ignore[operator]
                sponsorship["posts_disclosure_marker"] += bool(post.disclosures)  # type: ignore[operator]
                sponsorship["posts_brand_mention"] += bool(post.mentions)  # type: ignore[operator]
        report = {**ds.report.to_json(), **sponsorship}
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
                "ads": _ad_counts(meta),
            }
    return result


def _ad_counts(meta: Any) -> dict[str, int]:
    """The world's truth: disclosed and undisclosed paid posts, and organic brand mentions."""
    truths = [t for posts in meta.posts.values() for t in posts]
    return {
        "disclosed": sum(t.ad == "disclosed" for t in truths),
        "undisclosed": sum(t.ad == "undisclosed" for t in truths),
        "organic_mentions": sum(t.ad is None and t.brand is not None for t in truths),
    }


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
        (
            f"sponsorship: {result['posts_sponsor_tag']} posts with the paid-partnership tag, "
            f"{result['posts_disclosure_marker']} with a disclosure marker, "
            f"{result['posts_brand_mention']} naming an account"
        )
        if result["metadata_parsed"]
        else "sponsorship: not counted (--quick)",
        f"label fixes: {fixes}",
    ]
    if "world" in result:
        world = result["world"]
        split = ", ".join(f"{part} {n}" for part, n in world["split"].items())
        ads = world["ads"]
        lines.append(
            f"synthetic world: seed {world['seed']}, {world['image_size']} px, split {split}, "
            f"{world['drifting_influencers']} drifting; paid posts {ads['disclosed']} disclosed, "
            f"{ads['undisclosed']} undisclosed, {ads['organic_mentions']} organic brand mentions"
        )
    if result["warnings"]:
        lines.append(f"warnings: {len(result['warnings'])} (see the log above, or --json)")
    return "\n".join(lines)
