"""The synthetic world: deterministic by seed, in the public layout, read back field for field."""

from __future__ import annotations

import ast
import hashlib
import io
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from training.dataset import layout
from training.dataset.categories import CATEGORIES
from training.dataset.reader import open_dataset
from training.errors import DatasetError, KnobError
from training.synth import WorldKnobs, load_world_meta
from training.synth.world import plan_influencers, plan_posts
from training.synth.writer import WorldSummary, generate_world

TINY = WorldKnobs(influencers=9, posts=12, seed=3, image_size=32, drift_share=0.25, multi_image_share=0.3)


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> WorldSummary:
    return generate_world(tmp_path_factory.mktemp("world") / "w", TINY, progress=False)


def test_same_seed_same_bytes_other_seed_other_world(tiny_world: WorldSummary, tmp_path: Path) -> None:
    again = generate_world(tmp_path / "again", TINY, progress=False, workers=2)
    assert _digest(again.out) == _digest(tiny_world.out)
    other = generate_world(tmp_path / "other", WorldKnobs(**{**TINY.to_dict(), "seed": 4}), progress=False)
    assert _digest(other.out).keys() != _digest(tiny_world.out).keys()


def test_exact_public_layout(tiny_world: WorldSummary) -> None:
    root = tiny_world.out
    lines = (root / "influencers.txt").read_text().splitlines()
    assert lines[0] == "Username\tCategory\t#Followers\t#Followees\t#Posts"
    assert len(lines) == 1 + TINY.influencers
    mapping = (root / "JSON-Image_files_mapping.txt").read_text().splitlines()
    assert mapping[0] == "influencer_name\tJSON_PostMetadata_file_name\tImage_file_name"
    assert len(mapping) == 1 + TINY.influencers * TINY.posts
    multi = 0
    for row in mapping[1:]:
        user, json_name, images = row.split("\t")
        names = ast.literal_eval(images)
        assert isinstance(names, list) and names and json_name.endswith(".info")
        assert (root / "info" / f"{user}-{json_name}").is_file()
        for name in names:
            assert (root / "image" / f"{user}-{name}").is_file()
        multi += len(names) > 1
    assert multi > 0
    some_image = next((root / "image").iterdir())
    with Image.open(io.BytesIO(some_image.read_bytes())) as img:
        assert img.format == "JPEG" and img.size == (32, 32)
    assert tiny_world.images == sum(1 for _ in (root / "image").iterdir())


def test_reader_round_trip(tiny_world: WorldSummary) -> None:
    """Every field the generator writes is read back equal."""
    plans = plan_influencers(TINY)
    names = [p.username for p in plans]
    with open_dataset(tiny_world.out) as ds:
        assert ds.report.warnings == []
        assert [(r.username, r.category, r.followers, r.followees, r.posts) for r in ds.influencers()] == [
            (p.username, p.category, p.followers, p.followees, p.profile_posts) for p in plans
        ]
        for plan in plans:
            friends = [names[(plan.index + k) % len(names)] for k in range(1, 5)]
            written = plan_posts(TINY, plan, friends)
            read = ds.posts_of(plan.username)
            assert [r.post_id for r in read] == [w.post_id for w in written]
            for r, w in zip(read, written, strict=True):
                assert (r.influencer, r.label, r.ts, r.caption, r.hashtags, r.usertags) == (
                    w.influencer,
                    plan.category,
                    w.ts,
                    w.caption,
                    w.hashtags,
                    w.usertags,
                )
                assert (r.likes, r.comments, r.sponsored, r.is_video, r.accessibility_caption) == (
                    w.likes,
                    w.comments,
                    w.sponsor is not None,
                    w.is_video,
                    w.accessibility_caption,
                )
                assert [p.name for p in r.image_paths] == [
                    layout.image_member_name(plan.username, n) for n in w.image_names
                ]
            assert ds.read_image(read[0].image_paths[0])[:2] == b"\xff\xd8"


def test_world_meta(tiny_world: WorldSummary) -> None:
    meta = load_world_meta(tiny_world.out)
    assert meta == tiny_world.meta
    assert meta.knobs == TINY
    everyone = [u for part in ("train", "val", "test") for u in meta.split[part]]
    assert sorted(everyone) == sorted(meta.labels) and len(set(everyone)) == TINY.influencers
    assert Counter(meta.labels.values()) == Counter(CATEGORIES)  # 9 influencers, one per category
    assert all(len(t) == TINY.posts for t in meta.posts.values())
    assert len(meta.drifts) == round(TINY.drift_share * TINY.influencers)
    with open_dataset(tiny_world.out) as ds:
        for name, drift in meta.drifts.items():
            posts = ds.posts_of(name)
            assert posts[drift.start_index].post_id == drift.start_post_id
            assert posts[drift.start_index].ts == drift.start_ts
            truths = meta.posts[name]
            before = {t.category for t in truths[: drift.start_index] if t.kind == "on_topic"}
            after = {t.category for t in truths[drift.start_index :] if t.kind == "on_topic"}
            assert before <= {drift.from_category} and after == {drift.to_category}
            assert meta.truth(drift.start_post_id).post_id == drift.start_post_id
    assert load_world_meta(tiny_world.out / "world.json") == meta
    assert load_world_meta(tiny_world.out / "image") is None


def test_knobs_are_checked(tmp_path: Path, tiny_world: WorldSummary) -> None:
    with pytest.raises(KnobError, match="drift_share"):
        WorldKnobs(drift_share=1.5)
    with pytest.raises(KnobError, match="unknown world knobs"):
        WorldKnobs.from_dict({"influencer": 3})
    with pytest.raises(DatasetError, match="not empty"):
        generate_world(tiny_world.out, TINY, progress=False)


def test_defects_and_zipped_info_parts(tmp_path: Path) -> None:
    knobs = WorldKnobs(influencers=9, posts=10, seed=5, image_size=16, defects=0.1)
    world = generate_world(tmp_path / "d", knobs, progress=False, info_zip_parts=3)
    assert not any((world.out / "info").iterdir())
    assert sorted(p.name for p in world.out.glob("*.zip")) == [f"info_part{i}.zip" for i in (1, 2, 3)]
    defects = world.meta.defects
    with open_dataset(world.out) as ds:
        report = ds.report
        assert report.posts_missing_metadata == len(defects["missing_metadata"]) > 0
        assert report.images_missing == len(defects["missing_images"]) > 0
        assert report.duplicate_mapping_rows == len(defects["duplicate_rows"]) > 0
        assert report.separator_lines == 1
        assert report.label_fixed_rows == len(defects["misspelled_labels"]) > 0
        assert report.influencers == knobs.influencers
        assert len(list(ds.iter_posts())) == knobs.influencers * knobs.posts - len(
            defects["missing_metadata"]
        )


def test_the_world_rewards_attention_and_both_modalities() -> None:
    """From the plan alone (no files): averaging post topics misreads influencers whose secondary
    interest outweighs their topic, the styled posts do not; close pairs mix one modality only."""
    knobs = WorldKnobs(influencers=180, posts=100, seed=11, drift_share=0.0)
    wrong_by_majority = wrong_by_styled = 0
    mixed: Counter[tuple[str, str, str]] = Counter()
    for plan in plan_influencers(knobs):
        posts = plan_posts(knobs, plan, [])
        topics = Counter(p.category for p in posts if p.category)
        styled = Counter(p.category for p in posts if p.category and p.styled)
        wrong_by_majority += topics.most_common(1)[0][0] != plan.category
        wrong_by_styled += styled.most_common(1)[0][0] != plan.category
        for p in posts:
            if p.kind == "on_topic":
                mixed[(p.category, "text", p.text_category)] += 1
                mixed[(p.category, "image", p.motif)] += 1
    assert wrong_by_majority >= 0.12 * knobs.influencers
    assert wrong_by_styled <= 0.02 * knobs.influencers
    for a, b in (("beauty", "fashion"), ("fitness", "food")):
        assert mixed[(a, "text", b)] > 0.4 * mixed[(a, "text", a)] and mixed[(a, "image", b)] == 0
    for a, b in (("family", "pet"), ("interior", "travel")):
        assert mixed[(a, "image", b)] > 0.4 * mixed[(a, "image", a)] and mixed[(a, "text", b)] == 0
    assert mixed[("other", "text", "other")] > 0 and mixed[("other", "image", "other")] > 0


ADS = WorldKnobs(influencers=18, posts=30, seed=9, image_size=16, sponsored_share=0.6)


def test_sponsorship_round_trip(tmp_path: Path) -> None:
    """world.json's ad truth, the metadata the reader derives, and `scout dataset check` agree: a
    disclosed ad carries the tag or a marker, an undisclosed one names its brand and carries
    neither, an organic mention names its brand and is no ad."""
    from training.dataset.check import check_dataset
    from training.sponsorship.markers import disclosure_markers

    world = generate_world(tmp_path / "ads", ADS, progress=False)
    meta = load_world_meta(world.out)
    assert meta == world.meta
    seen: Counter[str | None] = Counter()
    tagged = marked = 0
    with open_dataset(world.out) as ds:
        for post in ds.iter_posts():
            truth = meta.truth(post.post_id)
            seen[truth.ad] += 1
            assert post.disclosures == disclosure_markers(post.caption, post.hashtags)
            assert post.sponsored == bool(post.sponsors)
            disclosed = post.sponsored or bool(post.disclosures)
            assert disclosed == (truth.ad == "disclosed"), (post.caption, truth)
            if truth.brand is not None:
                assert truth.brand in post.mentions
            if post.sponsored:
                assert post.sponsors == (truth.brand,)
            if truth.ad is not None:
                assert truth.kind == "on_topic" and truth.styled
            tagged += post.sponsored
            marked += bool(post.disclosures)
    assert seen["disclosed"] > 0 and seen["undisclosed"] > 0
    organic = sum(t.brand is not None and t.ad is None for ts in meta.posts.values() for t in ts)
    assert organic > 0
    counts = check_dataset(world.out)
    assert (counts["posts_sponsor_tag"], counts["posts_disclosure_marker"]) == (tagged, marked)
    assert counts["world"]["ads"] == {
        "disclosed": seen["disclosed"],
        "undisclosed": seen["undisclosed"],
        "organic_mentions": organic,
    }


def test_sponsorship_rates_follow_the_knobs() -> None:
    """From the plan alone: the shares of paid, undisclosed and tag-disclosed posts and of organic
    mentions are the knobs' (binomial noise allowed); markers come in several languages; unpaid
    posts never carry a marker; the knob at 0 turns ads off."""
    from training.sponsorship.markers import disclosure_markers
    from training.synth.vocab import DISCLOSURE_PHRASES_OTHER, DISCLOSURE_TAGS_OTHER

    knobs = WorldKnobs(influencers=90, posts=100, seed=4)
    posts = [p for plan in plan_influencers(knobs) for p in plan_posts(knobs, plan, [])]
    eligible = [p for p in posts if p.kind == "on_topic" and p.styled]
    paid = [p for p in posts if p.ad is not None]
    undisclosed = [p for p in paid if p.ad == "undisclosed"]
    disclosed = [p for p in paid if p.ad == "disclosed"]
    organic_pool = [p for p in posts if p.styled and p.category is not None and p.ad is None]
    organic = [p for p in organic_pool if p.brand is not None]

    def near(part: int, whole: int, share: float) -> bool:
        return abs(part / whole - share) <= 3.5 * (share * (1 - share) / whole) ** 0.5

    assert near(len(paid), len(eligible), knobs.sponsored_share)
    assert near(len(undisclosed), len(paid), knobs.undisclosed_share)
    assert near(sum(p.sponsor is not None for p in disclosed), len(disclosed), knobs.tag_disclosure_share)
    assert near(len(organic), len(organic_pool), knobs.organic_mention_share)
    foreign = {m.lower() for m in (*DISCLOSURE_TAGS_OTHER, *DISCLOSURE_PHRASES_OTHER)}
    written = [m.lstrip("#") for p in disclosed for m in disclosure_markers(p.caption, p.hashtags)]
    assert 0 < sum(m in foreign for m in written) < len(written)
    assert all(not disclosure_markers(p.caption, p.hashtags) for p in posts if p.ad != "disclosed")
    assert all(p.sponsor is None for p in posts if p.ad != "disclosed")
    off = WorldKnobs(influencers=9, posts=40, seed=4, sponsored_share=0.0)
    assert not any(p.ad for plan in plan_influencers(off) for p in plan_posts(off, plan, []))
