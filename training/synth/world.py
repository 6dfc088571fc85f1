"""Plan a synthetic influencer world: who the influencers are and what each of their posts is about.

Pure and deterministic: ``plan_influencers(knobs)`` and ``plan_posts(knobs, influencer)`` depend on
the knobs (seed included) only, each influencer on its own random stream, so influencers can be
planned in any order or in parallel. Images are not drawn here, only their seeds (images.render).

Post kinds: ``on_topic`` (the influencer's category, after a drift the new one), ``generic``
(selfie / giveaway / link in bio, no category) and ``off_topic`` (the secondary interest, or a
random other category). Close pairs mix their weak modality: a post's *text category* is the
pair partner with probability ``modality_overlap / 2`` for beauty/fashion and fitness/food, its
*image motif* likewise for family/pet and interior/travel (so at overlap 1 the pair's
distributions in that modality are identical).

Sponsorship is drawn from a random stream of its own per influencer (``_brand_plan``): which styled
on-topic posts are paid, how each is disclosed (or not), whether it sells in its caption and shows
a product shot; and which unpaid styled posts name a brand anyway.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from training.dataset.categories import CATEGORIES
from training.dataset.info_json import extract_hashtags
from training.synth import text
from training.synth.images import DESCRIPTIONS
from training.synth.knobs import WorldKnobs
from training.synth.vocab import (
    BRANDS,
    DISCLOSURE_PHRASES_EN,
    DISCLOSURE_PHRASES_OTHER,
    DISCLOSURE_TAGS_EN,
    DISCLOSURE_TAGS_OTHER,
    GENERIC_KINDS,
)

TEXT_CLOSE: tuple[tuple[str, str], ...] = (("beauty", "fashion"), ("fitness", "food"))
IMAGE_CLOSE: tuple[tuple[str, str], ...] = (("family", "pet"), ("interior", "travel"))
_TEXT_PARTNER = {a: b for pair in TEXT_CLOSE for a, b in (pair, pair[::-1])}
_IMAGE_PARTNER = {a: b for pair in IMAGE_CLOSE for a, b in (pair, pair[::-1])}

KINDS = ("on_topic", "generic", "off_topic")
_IG_EPOCH = 1_314_220_021  # seconds; post ids carry milliseconds since then, like Instagram's
_FIRST = (
    "lena",
    "mia",
    "noah",
    "ava",
    "leo",
    "zoe",
    "sam",
    "ivy",
    "max",
    "ella",
    "kai",
    "nina",
    "omar",
    "lucia",
    "finn",
    "maya",
    "jonas",
    "aria",
    "theo",
    "sofia",
    "yuki",
    "ines",
    "raf",
    "hana",
)
_LAST = (
    "moreau",
    "silva",
    "berg",
    "kim",
    "novak",
    "rossi",
    "haas",
    "lind",
    "costa",
    "park",
    "ortiz",
    "weber",
    "dubois",
    "sato",
    "quinn",
    "meyer",
    "rey",
    "falk",
    "varga",
    "ito",
)


@dataclass(frozen=True, slots=True)
class Drift:
    to_category: str
    start_index: int  # the first post (in time order) that is on-topic for ``to_category``


@dataclass(frozen=True, slots=True)
class InfluencerPlan:
    index: int
    username: str
    category: str  # the label written to influencers.txt (the category before any drift)
    secondary: str  # the off-topic interest most of their off-topic posts are about
    followers: int
    followees: int
    profile_posts: int  # the '#Posts' column: all posts on the profile, at least those in the world
    on_topic_share: float
    generic_share: float
    secondary_share: float
    drift: Drift | None


@dataclass(frozen=True, slots=True)
class SynthPost:
    """One planned post: what is written to the metadata file, the image seeds, and the truth."""

    influencer: str
    post_id: str
    shortcode: str
    ts: datetime
    caption: str
    usertags: tuple[str, ...]
    likes: int
    comments: int
    sponsor: str | None
    is_video: bool
    accessibility_caption: str | None
    image_names: tuple[str, ...]  # as the mapping names them, e.g. '1234.jpg', '1234_1.jpg'
    image_seeds: tuple[int, ...]
    motif: str  # what its images show
    text_category: str | None  # whose vocabulary its caption uses (differs for mixed close pairs)
    kind: str  # on_topic | generic | off_topic
    category: str | None  # the post's true topic (None for generic posts)
    styled: bool
    comment_key: str  # which GraphQL edge carries the comment count (real files vary)
    ad: str | None = None  # "disclosed" or "undisclosed" for a paid post, else None
    brand: str | None = None  # the brand a post names (paid or not)
    product_image: bool = False  # its images carry the product-shot sticker (images.render)

    @property
    def hashtags(self) -> tuple[str, ...]:
        """The hashtags a reader extracts from the caption (the caption is where they are written)."""
        return extract_hashtags(self.caption)

    @property
    def json_name(self) -> str:
        return f"{self.post_id}.info"


def _rng(knobs: WorldKnobs, *stream: int) -> random.Random:
    return random.Random(":".join(str(part) for part in (knobs.seed, *stream)))


def _lognormal_int(rng: random.Random, median: float, sigma: float, floor: int) -> int:
    return max(floor, int(median * math.exp(rng.gauss(0.0, sigma))))


def _other_category(rng: random.Random, *excluded: str) -> str:
    return rng.choice([c for c in CATEGORIES if c not in excluded])


def plan_influencers(knobs: WorldKnobs) -> list[InfluencerPlan]:
    """Influencers with categories spread evenly (cycled, then shuffled), heavy-tailed audiences."""
    rng = _rng(knobs, "influencers")
    labels = [CATEGORIES[i % len(CATEGORIES)] for i in range(knobs.influencers)]
    rng.shuffle(labels)
    drifting = set(rng.sample(range(knobs.influencers), round(knobs.drift_share * knobs.influencers)))
    plans = []
    for index, category in enumerate(labels):
        secondary = _other_category(rng, category)
        drift = None
        if index in drifting:
            start = round(rng.uniform(*knobs.drift_start) * knobs.posts)
            drift = Drift(_other_category(rng, category, secondary), min(max(start, 1), knobs.posts - 1))
        name = f"{rng.choice(_FIRST)}{rng.choice(('', '.', '_'))}{rng.choice(_LAST)}{index:03d}"
        plans.append(
            InfluencerPlan(
                index=index,
                username=name,
                category=category,
                secondary=secondary,
                followers=_lognormal_int(rng, 20_000, 1.4, 100),
                followees=_lognormal_int(rng, 700, 0.8, 10),
                profile_posts=knobs.posts + _lognormal_int(rng, 200, 1.0, 0),
                on_topic_share=rng.uniform(*knobs.on_topic_share),
                generic_share=rng.uniform(*knobs.generic_share),
                secondary_share=rng.uniform(*knobs.secondary_share),
                drift=drift if knobs.posts > 1 else None,
            )
        )
    return plans


def split_influencers(knobs: WorldKnobs, plans: list[InfluencerPlan]) -> dict[str, tuple[str, ...]]:
    """Held-out split, stratified by label: {train, val, test} -> usernames (world order).

    Sizes are exact over the world (``round(split * N)``); influencers are dealt in an order that
    interleaves the categories (shuffled within each), so every part gets its share of each."""
    rng = _rng(knobs, "split")
    keyed: list[tuple[float, float, str]] = []
    for category in CATEGORIES:
        names = [p.username for p in plans if p.category == category]
        rng.shuffle(names)
        offset = rng.random()
        keyed.extend(((i + offset) / len(names), rng.random(), name) for i, name in enumerate(names))
    order = [name for _, _, name in sorted(keyed)]
    n_train = round(knobs.split[0] * len(order))
    n_val = round(knobs.split[1] * len(order))
    part_of = {
        name: "train" if i < n_train else "val" if i < n_train + n_val else "test"
        for i, name in enumerate(order)
    }
    return {
        part: tuple(p.username for p in plans if part_of[p.username] == part)
        for part in ("train", "val", "test")
    }


def _timestamps(rng: random.Random, knobs: WorldKnobs) -> list[datetime]:
    """Strictly increasing whole seconds over the influencer's active window within the span."""
    start = datetime.fromisoformat(knobs.start_date).replace(tzinfo=UTC)
    span = knobs.span_days * 86_400
    lo, hi = rng.uniform(0, 0.1) * span, span - rng.uniform(0, 0.05) * span
    seconds = sorted(int(rng.uniform(lo, hi)) for _ in range(knobs.posts))
    for i in range(1, len(seconds)):
        seconds[i] = max(seconds[i], seconds[i - 1] + 1)
    return [start + timedelta(seconds=s) for s in seconds]


def _kinds(rng: random.Random, knobs: WorldKnobs, plan: InfluencerPlan) -> list[str]:
    n = knobs.posts
    n_on = max(1, round(plan.on_topic_share * n))
    n_generic = min(n - n_on, round(plan.generic_share * n))
    n_secondary = min(n - n_on - n_generic, round(plan.secondary_share * n))
    kinds = ["on_topic"] * n_on + ["generic"] * n_generic + ["secondary"] * n_secondary
    kinds += ["off_topic"] * (n - len(kinds))
    rng.shuffle(kinds)
    return kinds


def _shortcode(post_id: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    out = []
    while post_id:
        post_id, digit = divmod(post_id, 64)
        out.append(alphabet[digit])
    return "".join(reversed(out))


AD_KINDS = ("disclosed", "undisclosed")
_MARKER_WITH_TAG = 0.5  # tagged paid posts that also write a marker


def _marker(rng: random.Random, knobs: WorldKnobs) -> str:
    """A written disclosure: a hashtag (70%) or a phrase, in another language at foreign_marker_share."""
    foreign = rng.random() < knobs.foreign_marker_share
    if rng.random() < 0.7:
        return rng.choice(DISCLOSURE_TAGS_OTHER if foreign else DISCLOSURE_TAGS_EN)
    return rng.choice(DISCLOSURE_PHRASES_OTHER if foreign else DISCLOSURE_PHRASES_EN)


def _brand_plan(
    rng: random.Random, knobs: WorldKnobs, kind: str, category: str | None, styled: bool
) -> tuple[text.BrandPlan | None, str | None, bool]:
    """(how the post names a brand, its ``ad`` truth, product shot) for one post."""
    if category is None or not styled:
        return None, None, rng.random() < knobs.commercial_noise
    brand = rng.choice(BRANDS[category])
    how = rng.random()
    usertag, at_mention = how < 0.7, how >= 0.4  # tag 40%, @mention 30%, both 30%
    if kind == "on_topic" and rng.random() < knobs.sponsored_share:
        disclosed = rng.random() >= knobs.undisclosed_share
        tagged = disclosed and rng.random() < knobs.tag_disclosure_share
        marker = (
            _marker(rng, knobs) if disclosed and (not tagged or rng.random() < _MARKER_WITH_TAG) else None
        )
        commercial = rng.random() < knobs.ad_caption_share
        product = rng.random() < knobs.ad_image_share
        paid = text.BrandPlan(brand, True, tagged, marker, commercial, usertag, at_mention or commercial)
        return paid, AD_KINDS[0] if disclosed else AD_KINDS[1], product
    product = rng.random() < knobs.commercial_noise
    if rng.random() < knobs.organic_mention_share:
        return text.BrandPlan(brand, False, usertag=usertag, at_mention=at_mention), None, product
    return None, None, product


def plan_posts(knobs: WorldKnobs, plan: InfluencerPlan, friends: list[str]) -> list[SynthPost]:
    """The influencer's posts in time order. ``friends``: usernames their posts may tag."""
    rng = _rng(knobs, "posts", plan.index)
    ads = _rng(knobs, "sponsorship", plan.index)
    times = _timestamps(rng, knobs)
    engagement = math.exp(rng.gauss(math.log(0.03), 0.5))  # likes per follower
    posts = []
    for k, (ts, slot) in enumerate(zip(times, _kinds(rng, knobs, plan), strict=True)):
        topic = plan.drift.to_category if plan.drift and k >= plan.drift.start_index else plan.category
        if slot == "on_topic":
            kind, category, styled_p = "on_topic", topic, knobs.styled_on_topic
        elif slot == "generic":
            kind, category, styled_p = "generic", None, knobs.styled_generic
        else:
            other = plan.secondary if slot == "secondary" and plan.secondary != topic else None
            kind, category = "off_topic", other or _other_category(rng, topic)
            styled_p = knobs.styled_off_topic
        styled = rng.random() < styled_p
        brand, ad, product = _brand_plan(ads, knobs, kind, category, styled)
        if category is None:
            generic = rng.choice(GENERIC_KINDS)
            words = text.generic_text(rng, generic, plan.username, styled, friends)
            motif, text_category = generic, None
        else:
            text_category = category
            if category in _TEXT_PARTNER and rng.random() < knobs.modality_overlap / 2:
                text_category = _TEXT_PARTNER[category]
            motif = category
            if category in _IMAGE_PARTNER and rng.random() < knobs.modality_overlap / 2:
                motif = _IMAGE_PARTNER[category]
            noisy = brand is None and ads.random() < knobs.commercial_noise
            words = text.topical_text(rng, text_category, styled, knobs.text_noise, friends, brand, noisy)
            generic = None
        numeric_id = (
            (int(ts.timestamp()) - _IG_EPOCH) * 1000 << 23
            | (plan.index % 8192) << 10
            | (plan.index // 8192 % 1024)
        )
        post_id = str(numeric_id)
        n_images = rng.randint(2, 4) if rng.random() < knobs.multi_image_share else 1
        names = tuple(f"{post_id}.jpg" if i == 0 else f"{post_id}_{i}.jpg" for i in range(n_images))
        likes = max(
            0, int(plan.followers * engagement * (1.3 if styled else 0.8) * math.exp(rng.gauss(0, 0.4)))
        )
        comments = max(
            0, int(likes * 0.02 * math.exp(rng.gauss(0, 0.6)) * (10 if generic == "giveaway" else 1))
        )
        posts.append(
            SynthPost(
                influencer=plan.username,
                post_id=post_id,
                shortcode=_shortcode(numeric_id),
                ts=ts,
                caption=words.caption,
                usertags=words.usertags,
                likes=likes,
                comments=comments,
                sponsor=words.sponsor,
                is_video=rng.random() < knobs.video_share,
                accessibility_caption=DESCRIPTIONS[motif]
                if rng.random() < knobs.accessibility_share
                else None,
                image_names=names,
                image_seeds=tuple(rng.getrandbits(63) for _ in names),
                motif=motif,
                text_category=text_category,
                kind=kind,
                category=category,
                styled=styled,
                comment_key="edge_media_preview_comment" if rng.random() < 0.2 else "edge_media_to_comment",
                ad=ad,
                brand=brand.brand if brand is not None else None,
                product_image=product,
            )
        )
    return posts
