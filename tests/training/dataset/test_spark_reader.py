"""The Spark reader gives the Python reader's rows, on the defect copy and on a synthetic world."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC
from pathlib import Path

import pytest

from training.dataset.reader import open_dataset
from training.dataset.spark_reader import read_dataset_spark
from training.synth import WorldKnobs
from training.synth.writer import generate_world

pytestmark = pytest.mark.integration

FIELDS = (
    "influencer",
    "label",
    "post_id",
    "ts",
    "caption",
    "hashtags",
    "usertags",
    "likes",
    "comments",
    "sponsored",
    "is_video",
    "accessibility_caption",
    "sponsors",
    "mentions",
    "disclosures",
)


def _python_rows(root: Path) -> list[tuple]:
    with open_dataset(root) as ds:
        return sorted(
            (*(getattr(p, f) for f in FIELDS), tuple(x.name for x in p.image_paths)) for p in ds.iter_posts()
        )


def _value(row, name: str) -> object:
    if name in ("hashtags", "usertags", "sponsors", "mentions", "disclosures"):
        return tuple(row[name])
    if name == "ts":
        return row[name].astimezone(UTC)  # Spark hands back naive local times
    return row[name]


def _spark_rows(spark, root: Path) -> tuple[list[tuple], dict[str, int]]:
    ds = read_dataset_spark(spark, root)
    rows = sorted(
        (
            *(_value(r, f) for f in FIELDS),
            tuple(Path(p).name for p in r["image_paths"]),
        )
        for r in ds.posts.collect()
    )
    return rows, ds.counts()


def test_defect_copy_same_rows(spark, defect_copy) -> None:
    rows, counts = _spark_rows(spark, defect_copy.root)
    assert rows == _python_rows(defect_copy.root)
    marked = {r[FIELDS.index("post_id")]: r[FIELDS.index("disclosures")] for r in rows}
    assert marked["202"] == ("#werbung", "bezahlte partnerschaft") and marked["301"] == ("#ad",)
    assert counts == {
        "posts_mapped": 10,
        "posts": 7,
        "posts_missing_metadata": 1,
        "posts_bad_metadata": 2,
        "duplicate_mapping_rows": 2,
    }


def test_synthetic_world_same_rows(spark, tmp_path: Path) -> None:
    knobs = WorldKnobs(influencers=9, posts=15, seed=8, image_size=16, multi_image_share=0.3, defects=0.1)
    world = generate_world(tmp_path / "w", knobs, progress=False, info_zip_parts=2)
    rows, counts = _spark_rows(spark, world.out)
    assert rows == _python_rows(world.out)
    assert counts["posts"] == len(rows) == 9 * 15 - len(world.meta.defects["missing_metadata"])


def test_a_file_found_twice_keeps_the_copy_the_python_reader_keeps(spark, defect_copy) -> None:
    """alice-101.info unpacked in info/ and, with another caption, in an archive beside it: the
    archive comes first in the scan (a folder's files before its subfolders), in both readers."""
    other = json.loads((defect_copy.root / "info" / "alice-101.info").read_text())
    other["edge_media_to_caption"]["edges"][0]["node"]["text"] = "the archived copy"
    with zipfile.ZipFile(defect_copy.root / "info_part0.zip", "w") as archive:
        archive.writestr("alice-101.info", json.dumps(other))
    rows, _ = _spark_rows(spark, defect_copy.root)
    assert rows == _python_rows(defect_copy.root)
    captions = {r[FIELDS.index("post_id")]: r[FIELDS.index("caption")] for r in rows}
    assert captions["101"] == "the archived copy"
