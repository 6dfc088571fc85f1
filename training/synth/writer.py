"""Write a planned world to disk in exactly the public dataset layout, plus ``world.json``.

    summary = generate_world(Path("data/world"), WorldKnobs(influencers=100, posts=100, seed=7))

Deterministic: the same knobs give byte-identical files. ``info_zip_parts`` > 0 ships the post
metadata zipped in that many parts (``info_part1.zip`` ...) as the public copy does.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
import zipfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from training.dataset import layout
from training.dataset.archive import WORLD_META_FILE
from training.dataset.info_json import build_post
from training.errors import DatasetError
from training.synth.images import encode_jpeg, render
from training.synth.knobs import WorldKnobs
from training.synth.meta import DriftTruth, PostTruth, WorldMeta
from training.synth.world import (
    IMAGE_CLOSE,
    TEXT_CLOSE,
    InfluencerPlan,
    SynthPost,
    plan_influencers,
    plan_posts,
    split_influencers,
)

log = logging.getLogger(__name__)

MISSPELLINGS = {"fashion": "fasion", "pet": "pets"}  # what real copies write (see categories.py)
_FRIENDS = 4  # how many other influencers each one may tag


@dataclass(frozen=True)
class WorldSummary:
    out: Path
    influencers: int
    posts: int
    images: int
    bytes_written: int
    seconds: float
    meta: WorldMeta


class _Sink:
    """Where metadata files go: the info/ folder, or zip parts filled one after another."""

    def __init__(self, out: Path, parts: int, influencers: int) -> None:
        self.out, self.parts, self.per_part = out, parts, max(1, -(-influencers // max(parts, 1)))
        self._zip: zipfile.ZipFile | None = None
        self._part = 0
        self.bytes = 0

    def write_info(self, influencer_index: int, name: str, data: bytes) -> None:
        self.bytes += len(data)
        if self.parts <= 0:
            (self.out / layout.INFO_DIR / name).write_bytes(data)
            return
        part = influencer_index // self.per_part + 1
        if part != self._part:
            self.close()
            self._part = part
            self._zip = zipfile.ZipFile(
                self.out / f"info_part{part}.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=1
            )
        assert self._zip is not None
        info = zipfile.ZipInfo(f"{layout.INFO_DIR}/{name}", date_time=(2020, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        self._zip.writestr(info, data, compresslevel=1)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None


def _prepare(out: Path, overwrite: bool) -> None:
    ours = [layout.INFLUENCERS_FILE, layout.MAPPING_FILE, WORLD_META_FILE, layout.INFO_DIR, layout.IMAGE_DIR]
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise DatasetError(f"{out} is not empty; choose a new folder or pass --overwrite")
        for name in ours:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        for part in out.glob("info_part*.zip"):
            part.unlink()
    (out / layout.INFO_DIR).mkdir(parents=True, exist_ok=True)
    (out / layout.IMAGE_DIR).mkdir(exist_ok=True)


def _metadata(post: SynthPost, plan: InfluencerPlan, knobs: WorldKnobs) -> bytes:
    node = build_post(
        post_id=post.post_id,
        shortcode=post.shortcode,
        owner=plan.username,
        owner_id=str(10_000 + plan.index),
        ts=post.ts,
        caption=post.caption,
        usertags=post.usertags,
        likes=post.likes,
        comments=post.comments,
        sponsor=post.sponsor,
        is_video=post.is_video,
        image_count=len(post.image_names),
        image_size=knobs.image_size,
        accessibility_caption=post.accessibility_caption,
        comment_key=post.comment_key,
    )
    return json.dumps(node).encode()


@dataclass
class _Written:
    """What writing one influencer's posts produced; the driver assembles these in world order."""

    index: int
    mapping: list[str]
    infos: list[tuple[str, bytes]]  # (name, data) still to write (zip parts are written by the driver)
    truths: tuple[PostTruth, ...]
    drift: DriftTruth | None
    defects: dict[str, list[str]]
    images: int
    image_bytes: int
    info_bytes: int


def _write_influencer(
    knobs: WorldKnobs, out: Path, plan: InfluencerPlan, friends: list[str], keep_infos: bool
) -> _Written:
    posts = plan_posts(knobs, plan, friends)
    chaos = random.Random(f"{knobs.seed}:defects:{plan.index}")
    done = _Written(
        plan.index,
        [],
        [],
        (),
        None,
        {"missing_metadata": [], "missing_images": [], "duplicate_rows": []},
        0,
        0,
        0,
    )
    image_dir = out / layout.IMAGE_DIR
    for post in posts:
        info_name = layout.info_member_name(plan.username, post.json_name)
        if knobs.defects and chaos.random() < knobs.defects:
            done.defects["missing_metadata"].append(info_name)
        else:
            data = _metadata(post, plan, knobs)
            done.info_bytes += len(data)
            if keep_infos:
                done.infos.append((info_name, data))
            else:
                (out / layout.INFO_DIR / info_name).write_bytes(data)
        drop = len(post.image_names) - 1 if knobs.defects and chaos.random() < knobs.defects else -1
        for i, (image, seed) in enumerate(zip(post.image_names, post.image_seeds, strict=True)):
            member = layout.image_member_name(plan.username, image)
            if i == drop:
                done.defects["missing_images"].append(member)
                continue
            data = encode_jpeg(
                render(
                    seed, post.motif, post.styled, knobs.image_size, knobs.image_noise, post.product_image
                ),
                knobs.jpeg_quality,
            )
            (image_dir / member).write_bytes(data)
            done.image_bytes += len(data)
            done.images += 1
        row = f"{plan.username}\t{post.json_name}\t{layout.format_image_list(post.image_names)}\n"
        done.mapping.append(row)
        if knobs.defects and chaos.random() < knobs.defects:
            done.mapping.append(row)
            done.defects["duplicate_rows"].append(info_name)
    done.truths = tuple(
        PostTruth(p.post_id, p.kind, p.category, p.styled, p.motif, p.ad, p.brand) for p in posts
    )
    if plan.drift is not None:
        first = posts[plan.drift.start_index]
        done.drift = DriftTruth(
            plan.username,
            plan.category,
            plan.drift.to_category,
            plan.drift.start_index,
            first.post_id,
            first.ts,
        )
    return done


def _write_one(args: tuple[WorldKnobs, Path, InfluencerPlan, list[str], bool]) -> _Written:
    return _write_influencer(*args)


def generate_world(
    out: Path,
    knobs: WorldKnobs,
    *,
    progress: bool = True,
    overwrite: bool = False,
    info_zip_parts: int = 0,
    workers: int = 1,
) -> WorldSummary:
    """Write the world; ``workers`` > 1 draws influencers in that many processes (same bytes)."""
    started = time.perf_counter()
    out = Path(out)
    _prepare(out, overwrite)
    plans = plan_influencers(knobs)
    names = [p.username for p in plans]
    jobs = (
        (
            knobs,
            out,
            plan,
            [names[(plan.index + k) % len(names)] for k in range(1, min(_FRIENDS, len(names) - 1) + 1)],
            info_zip_parts > 0,
        )
        for plan in plans
    )
    sink = _Sink(out, info_zip_parts, len(plans))
    defects: dict[str, list[str]] = {
        "missing_metadata": [],
        "missing_images": [],
        "duplicate_rows": [],
        "misspelled_labels": [],
    }
    truths: dict[str, tuple[PostTruth, ...]] = {}
    drifts: dict[str, DriftTruth] = {}
    image_bytes = images = 0
    pool = ProcessPoolExecutor(workers) if workers > 1 else None
    try:
        results = pool.map(_write_one, jobs, chunksize=4) if pool else map(_write_one, jobs)
        with (
            (out / layout.MAPPING_FILE).open("w", encoding="utf-8", newline="\n") as mapping,
            tqdm(total=len(plans) * knobs.posts, unit="post", desc="generate", disable=not progress) as bar,
        ):
            mapping.write("\t".join(layout.MAPPING_HEADER) + "\n")
            for done in results:
                mapping.writelines(done.mapping)
                for name, data in done.infos:
                    sink.write_info(done.index, name, data)
                sink.bytes += 0 if done.infos else done.info_bytes
                for kind, items in done.defects.items():
                    defects[kind].extend(items)
                truths[names[done.index]] = done.truths
                if done.drift is not None:
                    drifts[done.drift.influencer] = done.drift
                images += done.images
                image_bytes += done.image_bytes
                bar.update(len(done.truths))
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        sink.close()
    _write_influencers(out, plans, knobs, defects)
    meta = WorldMeta(
        knobs=knobs,
        split=split_influencers(knobs, plans),
        labels={p.username: p.category for p in plans},
        secondary={p.username: p.secondary for p in plans},
        drifts=drifts,
        posts=truths,
        text_close=TEXT_CLOSE,
        image_close=IMAGE_CLOSE,
        defects=defects,
    )
    meta_bytes = json.dumps(meta.to_json(), separators=(",", ":")).encode()
    (out / WORLD_META_FILE).write_bytes(meta_bytes)
    total = (
        image_bytes
        + sink.bytes
        + len(meta_bytes)
        + sum((out / name).stat().st_size for name in (layout.MAPPING_FILE, layout.INFLUENCERS_FILE))
    )
    seconds = time.perf_counter() - started
    log.info(
        "wrote %d influencers x %d posts (%d images, %.1f MB) to %s in %.1f s",
        len(plans),
        knobs.posts,
        images,
        total / 1e6,
        out,
        seconds,
    )
    return WorldSummary(out, len(plans), len(plans) * knobs.posts, images, total, seconds, meta)


def _write_influencers(
    out: Path, plans: list[InfluencerPlan], knobs: WorldKnobs, defects: dict[str, list[str]]
) -> None:
    """With defects on, a separator line goes under the header and every other fashion and pet
    influencer (the first included) gets the misspelled label real copies have."""
    lines = ["\t".join(layout.INFLUENCERS_HEADER)]
    if knobs.defects:
        lines.append("=" * 45)
    seen: Counter[str] = Counter()
    for p in plans:
        label = p.category
        if knobs.defects and label in MISSPELLINGS and seen[label] % 2 == 0:
            label = MISSPELLINGS[label]
            defects["misspelled_labels"].append(p.username)
        seen[p.category] += 1
        lines.append(f"{p.username}\t{label}\t{p.followers}\t{p.followees}\t{p.profile_posts}")
    (out / layout.INFLUENCERS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
