"""The dataset as Spark DataFrames, for the full public copy (10 M posts): Spark parallelises over files.

    ds = read_dataset_spark(spark, "data/instagram")
    ds.posts        # the PostRecord columns, one row per post with readable metadata
    ds.counts()     # posts, posts_missing_metadata, posts_bad_metadata, duplicate_mapping_rows

The executors open each mapped post's metadata file and check its images by name (unpacked
``info/`` and ``image/`` folders), or read the zipped parts member by member (one task per
archive): the driver lists no folder, so its memory does not grow with the copy's file count. The
GraphQL parsing mirrors training.dataset.info_json so both readers give the same rows. Input is
a dataset *folder* (its info may stay zipped in parts); a copy zipped as a whole is for the
Python reader, or unzip it.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from training.dataset import layout
from training.dataset.categories import CATEGORIES, LABEL_FIXES
from training.dataset.records import POST_RECORD_FIELDS
from training.errors import DatasetError
from training.sponsorship.markers import brand_mentions, disclosure_markers

_QUOTED = r"""['"]([^'"]+)['"]"""
_HASHTAG = r"(?U)#(\w+)"  # Java's \w is ASCII without (?U); info_json.HASHTAG_PATTERN in Python
_MAX_DEPTH = 3
_CHUNK = 2048  # rows per Arrow batch the readers hand back
_READ_TASKS_PER_CORE = 4  # tasks that open the unpacked info files, per core of the session

_COUNT = T.StructType([T.StructField("count", T.LongType())])


def _edges_of(node: T.DataType) -> T.StructType:
    """GraphQL's {"edges": [{"node": ...}]}."""
    return T.StructType([T.StructField("edges", T.ArrayType(T.StructType([T.StructField("node", node)])))])


_NODE = T.StructType(
    [
        T.StructField("taken_at_timestamp", T.DoubleType()),
        T.StructField(
            "edge_media_to_caption", _edges_of(T.StructType([T.StructField("text", T.StringType())]))
        ),
        T.StructField(
            "edge_media_to_tagged_user",
            _edges_of(
                T.StructType(
                    [T.StructField("user", T.StructType([T.StructField("username", T.StringType())]))]
                )
            ),
        ),
        T.StructField("edge_media_preview_like", _COUNT),
        T.StructField("edge_liked_by", _COUNT),
        T.StructField("edge_media_to_comment", _COUNT),
        T.StructField("edge_media_preview_comment", _COUNT),
        T.StructField("edge_media_to_parent_comment", _COUNT),
        T.StructField(
            "edge_media_to_sponsor_user",
            _edges_of(
                T.StructType(
                    [T.StructField("sponsor", T.StructType([T.StructField("username", T.StringType())]))]
                )
            ),
        ),
        T.StructField("is_paid_partnership", T.BooleanType()),
        T.StructField("is_video", T.BooleanType()),
        T.StructField("accessibility_caption", T.StringType()),
    ]
)
_INFO = T.StructType(
    [
        *_NODE.fields,
        T.StructField("graphql", T.StructType([T.StructField("shortcode_media", _NODE)])),
        T.StructField("data", T.StructType([T.StructField("shortcode_media", _NODE)])),
        T.StructField("node", _NODE),
    ]
)
_MEMBERS = T.StructType(
    [
        T.StructField("file_name", T.StringType()),
        T.StructField("value", T.StringType()),
        T.StructField("place", T.IntegerType()),  # where it was found, in the Python reader's scan order
    ]
)
_STRINGS = T.ArrayType(T.StringType())
_SPONSORSHIP = T.StructType([T.StructField("mentions", _STRINGS), T.StructField("disclosures", _STRINGS)])


def _sponsorship_batch(caption: pd.Series, usertags: pd.Series, hashtags: pd.Series) -> pd.DataFrame:
    """Brand mentions and disclosure markers of a batch of posts, by training.sponsorship.markers
    (the one place the markers are listed), as info_json.parse_post derives them."""
    captions = [c or "" for c in caption]
    tagged = [list(u) if u is not None else [] for u in usertags]
    tags = [list(h) if h is not None else [] for h in hashtags]
    return pd.DataFrame(
        {
            "mentions": [list(brand_mentions(u, c)) for u, c in zip(tagged, captions, strict=True)],
            "disclosures": [list(disclosure_markers(c, h)) for c, h in zip(captions, tags, strict=True)],
        }
    )


@dataclass(frozen=True)
class DatasetFolders:
    influencers: Path
    mapping: Path
    info_dirs: tuple[Path, ...]
    info_zips: tuple[Path, ...]
    image_dirs: tuple[Path, ...]
    # info/ and image/ folders and archives in the Python reader's scan order (a folder's files
    # before its subfolders, both sorted): a file found twice keeps the copy of the first place
    scan_order: tuple[Path, ...]

    def place(self, path: Path) -> int:
        return self.scan_order.index(path)


def locate(root: str | Path) -> DatasetFolders:
    """The layout's files under ``root`` without listing the (huge) info and image folders."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise DatasetError(f"{root} is not a dataset folder (the Spark reader needs one; unzip the copy)")
    meta: dict[str, Path] = {}
    info_dirs, image_dirs, zips, order = [], [], [], []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if here.name in (layout.INFO_DIR, layout.IMAGE_DIR):
            (info_dirs if here.name == layout.INFO_DIR else image_dirs).append(here)
            order.append(here)
            dirnames.clear()
            continue
        for name in sorted(filenames):
            if name in (layout.INFLUENCERS_FILE, layout.MAPPING_FILE):
                meta.setdefault(name, here / name)
            elif name.lower().endswith(".zip"):
                zips.append(here / name)
                order.append(here / name)
        dirnames.sort()
        if len(here.relative_to(root).parts) >= _MAX_DEPTH:
            dirnames.clear()
    for name in (layout.INFLUENCERS_FILE, layout.MAPPING_FILE):
        if name not in meta:
            raise DatasetError(f"no {name} under {root}; is this a copy of the influencer dataset?")
    return DatasetFolders(
        meta[layout.INFLUENCERS_FILE],
        meta[layout.MAPPING_FILE],
        tuple(info_dirs),
        tuple(zips),
        tuple(image_dirs),
        tuple(order),
    )


def _fields(line: Column, expected: int) -> Column:
    """Tab-separated fields, or whitespace-separated when the tabs do not give ``expected``."""
    by_tab = F.split(line, "\t")
    return F.when(F.size(by_tab) == expected, by_tab).otherwise(F.split(F.trim(line), r"\s+", expected))


def _numbered_lines(spark: SparkSession, path: Path) -> DataFrame:
    lines = spark.read.text(str(path)).withColumn("line_no", F.monotonically_increasing_id())
    return lines.where(F.trim("value") != "").where(~F.trim("value").rlike(r"^[=\-+|\s]+$"))


def _labels(spark: SparkSession, path: Path) -> DataFrame:
    """username -> canonical label: first valid row wins, as in mapping.parse_influencers."""
    parts = _numbered_lines(spark, path).select("line_no", _fields(F.col("value"), 5).alias("f"))
    raw = F.lower(F.trim(F.get("f", 1)))
    fixes = F.create_map(*[F.lit(x) for pair in LABEL_FIXES.items() for x in pair])
    label = F.when(raw.isin(*CATEGORIES), raw).otherwise(fixes[raw])
    numeric = [F.regexp_replace(F.trim(F.get("f", i)), ",", "").rlike(r"^\d+$") for i in (2, 3, 4)]
    rows = parts.where((F.size("f") == 5) & numeric[0] & numeric[1] & numeric[2])
    rows = rows.where(F.lower(F.trim(F.get("f", 0))) != "username")
    rows = rows.select("line_no", F.trim(F.get("f", 0)).alias("influencer"), label.alias("label"))
    first = Window.partitionBy("influencer").orderBy("line_no")
    valid = rows.where(F.col("label").isNotNull() & (F.col("influencer") != ""))
    return valid.withColumn("k", F.row_number().over(first)).where("k = 1").select("influencer", "label")


def _mapping(spark: SparkSession, path: Path) -> DataFrame:
    """One row per (influencer, json_name) with its images in first-seen order and its row count."""
    parts = _numbered_lines(spark, path).select("line_no", _fields(F.col("value"), 3).alias("f"))
    rows = (
        parts.where(F.lower(F.trim(F.get("f", 0))) != layout.MAPPING_HEADER[0].lower())
        .select(
            "line_no",
            F.trim(F.get("f", 0)).alias("influencer"),
            F.trim(F.get("f", 1)).alias("json_name"),
            F.when(F.size("f") >= 3, F.regexp_extract_all(F.get("f", 2), F.lit(_QUOTED), 1))
            .otherwise(F.array().cast("array<string>"))
            .alias("images"),
        )
        .where((F.col("influencer") != "") & F.col("json_name").isNotNull() & (F.col("json_name") != ""))
    )
    grouped = rows.groupBy("influencer", "json_name").agg(
        F.array_sort(F.collect_list(F.struct("line_no", "images"))).alias("rows"), F.count("*").alias("n")
    )
    return grouped.select(
        "influencer",
        "json_name",
        "n",
        F.array_distinct(F.flatten(F.transform("rows", lambda r: r["images"]))).alias("images"),
    )


def _zip_members(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    for batch in batches:
        for zip_path in batch["zip"]:
            with zipfile.ZipFile(zip_path) as archive:
                names = [n for n in archive.namelist() if n.endswith(layout.INFO_SUFFIX)]
                for start in range(0, len(names), 2048):
                    chunk = names[start : start + 2048]
                    yield pd.DataFrame(
                        {
                            "file_name": [n.rsplit("/", 1)[-1] for n in chunk],
                            "value": [archive.read(n).decode("utf-8", errors="replace") for n in chunk],
                        }
                    )


def _first_found(dirs: tuple[str, ...], name: str) -> tuple[int, str] | None:
    """(index, path) of the file ``name`` in the first of ``dirs`` holding it; None if none does,
    or if ``name`` is not a plain base name (the mapping names files, it does not point at paths)."""
    if not name or name in (".", "..") or "/" in name or os.sep in name:
        return None
    for index, folder in enumerate(dirs):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return index, path
    return None


def _unpacked_info(
    dirs: tuple[str, ...], places: tuple[int, ...]
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """file_name batches -> (file_name, value, place) of those found in ``dirs`` (whose places are
    ``places``), read in the executors. An unreadable file gives an empty text, so it counts as bad
    metadata, as in the Python reader."""

    def read(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            rows: dict[str, list] = {"file_name": [], "value": [], "place": []}
            for name in batch["file_name"]:
                found = _first_found(dirs, name) if name.endswith(layout.INFO_SUFFIX) else None
                if found is None:
                    continue
                try:
                    with open(found[1], "rb") as handle:
                        text = handle.read().decode("utf-8", errors="replace")
                except OSError:
                    text = ""
                for key, value in (("file_name", name), ("value", text), ("place", places[found[0]])):
                    rows[key].append(value)
                if len(rows["file_name"]) == _CHUNK:
                    yield pd.DataFrame(rows)
                    rows = {key: [] for key in rows}
            if rows["file_name"]:
                yield pd.DataFrame(rows)

    return read


def _zip_members(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    for batch in batches:
        for zip_path, place in zip(batch["zip"], batch["place"], strict=True):
            with zipfile.ZipFile(zip_path) as archive:
                names = [n for n in archive.namelist() if n.endswith(layout.INFO_SUFFIX)]
                for start in range(0, len(names), _CHUNK):
                    chunk = names[start : start + _CHUNK]
                    yield pd.DataFrame(
                        {
                            "file_name": [n.rsplit("/", 1)[-1] for n in chunk],
                            "value": [archive.read(n).decode("utf-8", errors="replace") for n in chunk],
                            "place": [int(place)] * len(chunk),
                        }
                    )


def _info_texts(spark: SparkSession, folders: DatasetFolders, names: DataFrame) -> DataFrame:
    """(file_name, value) of the info files the mapping ``names``: unpacked ones opened by name in
    the executors (the driver lists nothing), zipped parts member by member, one task per archive.
    A file found twice keeps the copy of the first place in ``folders.scan_order``."""
    frames = []
    if folders.info_dirs:
        dirs = tuple(str(d) for d in folders.info_dirs)
        places = tuple(folders.place(d) for d in folders.info_dirs)
        tasks = _READ_TASKS_PER_CORE * spark.sparkContext.defaultParallelism
        wanted = names.select("file_name").distinct().repartition(tasks)
        frames.append(wanted.mapInPandas(_unpacked_info(dirs, places), _MEMBERS))
    if folders.info_zips:
        zips = [(str(p), folders.place(p)) for p in folders.info_zips]
        paths = spark.createDataFrame(zips, "zip string, place int")
        frames.append(paths.repartition(len(zips)).mapInPandas(_zip_members, _MEMBERS))
    if not frames:
        return spark.createDataFrame([], _MEMBERS).drop("place")
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    first = Window.partitionBy("file_name").orderBy("place")
    return union.withColumn("k", F.row_number().over(first)).where("k = 1").drop("k", "place")


def _parsed(info: DataFrame) -> DataFrame:
    """GraphQL text -> the post columns (ts null when the file is unusable), as info_json.parse_post."""
    raw = F.from_json("value", _INFO)
    top = F.struct(*[raw[f.name].alias(f.name) for f in _NODE.fields])
    node = (
        F.when(raw["graphql"]["shortcode_media"].isNotNull(), raw["graphql"]["shortcode_media"])
        .when(raw["data"]["shortcode_media"].isNotNull(), raw["data"]["shortcode_media"])
        .when(raw["node"].isNotNull(), raw["node"])
        .otherwise(top)
    )
    n = F.col("n")

    def edges(name: str) -> Column:
        return F.filter(F.coalesce(n[name]["edges"], F.array()), lambda e: e["node"].isNotNull())

    caption = F.array_join(
        F.transform(edges("edge_media_to_caption"), lambda e: F.coalesce(e["node"]["text"], F.lit(""))), "\n"
    )
    users = F.transform(edges("edge_media_to_tagged_user"), lambda e: e["node"]["user"]["username"])
    sponsorship = F.pandas_udf(_sponsorship_batch, _SPONSORSHIP)  # type: ignore[call-overload]
    sponsors = F.transform(
        edges("edge_media_to_sponsor_user"), lambda e: F.lower(e["node"]["sponsor"]["username"])
    )
    return (
        info.select("file_name", node.alias("n"))
        .select(
            "file_name",
            F.lit(True).alias("has_info"),
            F.timestamp_seconds(n["taken_at_timestamp"]).alias("ts"),
            caption.alias("caption"),
            F.filter(users, lambda u: u.isNotNull() & (u != "")).alias("usertags"),
            F.coalesce(n["edge_media_preview_like"]["count"], n["edge_liked_by"]["count"]).alias("likes"),
            F.coalesce(
                n["edge_media_to_comment"]["count"],
                n["edge_media_preview_comment"]["count"],
                n["edge_media_to_parent_comment"]["count"],
            ).alias("comments"),
            (
                (F.size(edges("edge_media_to_sponsor_user")) > 0)
                | F.coalesce(n["is_paid_partnership"], F.lit(False))
            ).alias("sponsored"),
            F.coalesce(n["is_video"], F.lit(False)).alias("is_video"),
            n["accessibility_caption"].alias("accessibility_caption"),
            F.array_distinct(F.filter(sponsors, lambda u: u.isNotNull() & (u != ""))).alias("sponsors"),
        )
        .withColumn(
            "hashtags",
            F.array_distinct(F.transform(F.regexp_extract_all("caption", F.lit(_HASHTAG), 1), F.lower)),
        )
        .withColumn("sponsorship", sponsorship("caption", "usertags", "hashtags"))
        .withColumn("mentions", F.col("sponsorship.mentions"))
        .withColumn("disclosures", F.col("sponsorship.disclosures"))
        .drop("sponsorship")
    )


@dataclass(frozen=True)
class SparkDataset:
    posts: DataFrame  # records.POST_RECORD_FIELDS, one row per post (image_paths as path strings)
    mapped: DataFrame  # influencer, json_name, n (rows), images, has_info, readable

    def counts(self) -> dict[str, int]:
        row = self.mapped.agg(
            F.count("*").alias("posts_mapped"),
            F.sum(F.when(F.col("readable"), 1).otherwise(0)).alias("posts"),
            F.sum(F.when(~F.col("has_info"), 1).otherwise(0)).alias("posts_missing_metadata"),
            F.sum(F.when(F.col("has_info") & ~F.col("readable"), 1).otherwise(0)).alias("posts_bad_metadata"),
            F.sum(F.col("n") - 1).alias("duplicate_mapping_rows"),
        ).first()
        return {key: int(value or 0) for key, value in row.asDict().items()}


def read_dataset_spark(spark: SparkSession, root: str | Path) -> SparkDataset:
    folders = locate(root)
    labels = _labels(spark, folders.influencers)
    mapping = _mapping(spark, folders.mapping).withColumn(
        "file_name", F.concat_ws("-", "influencer", "json_name")
    )
    parsed = _parsed(_info_texts(spark, folders, mapping))
    joined = mapping.join(parsed, "file_name", "left")
    mapped = joined.select(
        "influencer",
        "json_name",
        "n",
        "images",
        F.coalesce("has_info", F.lit(False)).alias("has_info"),
        F.col("ts").isNotNull().alias("readable"),
        *[c for c in parsed.columns if c not in ("file_name", "has_info")],
    )
    # The images' slots come from the mapping: a second branch over `mapped` would read every
    # info file again. Those of posts without readable metadata drop out in the join below.
    slots = mapping.select(
        "influencer", "json_name", F.posexplode("images").alias("pos", "image")
    ).withColumn("path", _image_finder(folders)(F.concat_ws("-", "influencer", "image")))
    kept = (
        slots.where(F.col("path").isNotNull())
        .groupBy("influencer", "json_name")
        .agg(F.array_sort(F.collect_list(F.struct("pos", "path"))).alias("found"))
    )
    computed = {  # the PostRecord fields not read under their own name
        "post_id": F.regexp_replace("json_name", f"\\{layout.INFO_SUFFIX}$", ""),
        "image_paths": F.coalesce(F.transform("found", lambda f: f["path"]), F.array().cast("array<string>")),
    }
    posts = (
        mapped.where("readable")
        .join(kept, ["influencer", "json_name"], "left")
        .join(labels, "influencer", "left")
        .select(*(computed.get(name, F.col(name)).alias(name) for name in POST_RECORD_FIELDS))
    )
    return SparkDataset(posts=posts, mapped=mapped)


def _image_finder(folders: DatasetFolders) -> Callable[[Column], Column]:
    """member name -> path of that image in the first image folder holding it, else null: each
    executor checks its posts' images by name, so the driver never lists the image folders."""
    dirs = tuple(str(d) for d in folders.image_dirs)

    def find(members: pd.Series) -> pd.Series:
        found = (_first_found(dirs, m) for m in members)
        return pd.Series([None if f is None else f[1] for f in found], dtype=object)

    # nondeterministic only so that the optimizer does not copy it into the null filter after it
    # (which checked every image twice)
    return F.pandas_udf(find, T.StringType()).asNondeterministic()  # type: ignore[call-overload]
