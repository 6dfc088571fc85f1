"""Every knob of the synthetic influencer world, in one frozen dataclass with documented defaults.

The world is built so the paper's claims can be measured rather than assumed:

* Attention vs averaging. Each influencer's posts are a mix of *on-topic* posts (their category,
  mostly in the polished "styled" look: clean centred image, hashtag block, brand tags), *generic*
  posts (selfies, giveaways, "link in bio") and *off-topic* casual posts, concentrated on one
  secondary interest. Averaging mixes the secondary interest into the profile and loses which posts
  were polished; attention can pick the styled posts out one by one. The wider the secondary share
  range overlaps the on-topic range, the more averaging is hurt.
* Multimodal vs one modality. beauty/fashion and fitness/food are close in text (their captions
  and tags are drawn from each other's words) but distinct in images; family/pet and
  interior/travel are close in images but distinct in text. ``modality_overlap`` = 1 makes a
  pair indistinguishable in its weak modality; below about 0.9 pooling over many posts separates
  the pair in that modality again, shrinking the multimodal margin.
* Sponsored posts. Paid posts look commercial in their caption and, independently, in their image
  (each at its own share), so text alone cannot find every one; undisclosed ones differ from
  disclosed ones only by the missing tag or marker, and organic brand mentions name a brand without
  selling. A head trained on the disclosed ones can thus find the undisclosed ones, a text-only
  model only those with a commercial caption, and "has #ad" none.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from training.errors import KnobError

Range = tuple[float, float]


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise KnobError(message)


def _check_range(name: str, value: Range, lo: float = 0.0, hi: float = 1.0) -> None:
    _require(
        len(value) == 2 and lo <= value[0] <= value[1] <= hi, f"{name} must be a range within [{lo}, {hi}]"
    )


@dataclass(frozen=True)
class WorldKnobs:
    influencers: int = 100
    posts: int = 100  # per influencer
    seed: int = 0
    image_size: int = 64  # square JPEGs, pixels
    jpeg_quality: int = 90

    # Per-influencer shares of post kinds, each drawn uniformly from its range (where the three
    # drawn shares sum past 1, the generic and then the secondary share are cut); the rest of the
    # posts are off-topic posts of random other categories.
    on_topic_share: Range = (0.20, 0.60)
    generic_share: Range = (0.10, 0.25)
    secondary_share: Range = (0.05, 0.45)  # off-topic posts on the influencer's one secondary interest

    # How often each kind of post has the polished "styled" look (the rest look casual).
    styled_on_topic: float = 0.85
    styled_off_topic: float = 0.10
    styled_generic: float = 0.30

    modality_overlap: float = 1.0  # share of a close pair's weak modality drawn from the pair's mix
    text_noise: float = 0.15  # share of content words swapped for a random category's words
    image_noise: float = 0.06  # std of per-pixel Gaussian noise, on a 0..1 scale

    multi_image_share: float = 0.10  # carousel posts (2-4 images)
    video_share: float = 0.03  # posts flagged is_video (their image is the thumbnail)
    # Paid posts (ground truth in world.json: each post's ``ad`` is "disclosed", "undisclosed" or
    # None, with its ``brand``). A paid post is a styled on-topic post naming a brand of the
    # influencer's category (tagged and/or @mentioned).
    sponsored_share: float = 0.15  # of styled on-topic posts are paid
    undisclosed_share: float = 0.4  # of paid posts carry no disclosure at all
    tag_disclosure_share: float = 0.5  # of disclosed paid posts carry the paid-partnership tag
    # (they also write a marker half the time; the others disclose by a marker alone)
    foreign_marker_share: float = 0.25  # of written markers are not English (#werbung, "parceria paga"...)
    ad_caption_share: float = 0.7  # of paid posts have a commercial caption (a code, "shop it now at")
    ad_image_share: float = 0.7  # of paid posts show a product shot (a price sticker on the image)
    organic_mention_share: float = 0.5  # of unpaid styled topical posts name a brand, not an ad
    commercial_noise: float = 0.04  # of unpaid posts sound commercial or show a sticker anyway
    accessibility_share: float = 0.5  # posts with an image-derived accessibility caption

    drift_share: float = 0.10  # influencers whose on-topic category changes once
    drift_start: Range = (0.5, 0.8)  # where in an influencer's timeline (fraction of posts) it starts

    start_date: str = "2019-01-01"  # UTC
    span_days: int = 365  # timestamps are spread over this many days
    split: tuple[float, float, float] = (0.7, 0.15, 0.15)  # train, val, test, stratified by category

    # Real-copy defects written on purpose (0 = a clean copy): this share of posts loses its
    # metadata file, as many lose an image, as many mapping rows repeat; labels get misspelled
    # and a separator line goes under the header.
    defects: float = 0.0

    def __post_init__(self) -> None:
        _require(self.influencers >= 1 and self.posts >= 1, "influencers and posts must be >= 1")
        _require(8 <= self.image_size <= 1024, "image_size must be within 8..1024 px")
        _require(1 <= self.jpeg_quality <= 100, "jpeg_quality must be within 1..100")
        for name in ("on_topic_share", "generic_share", "secondary_share", "drift_start"):
            _check_range(name, getattr(self, name))
        _require(
            self.on_topic_share[0] + self.generic_share[0] + self.secondary_share[0] <= 1.0 + 1e-9,
            "the lower ends of on_topic_share, generic_share and secondary_share must sum to <= 1",
        )
        for name in (
            "styled_on_topic",
            "styled_off_topic",
            "styled_generic",
            "modality_overlap",
            "text_noise",
            "image_noise",
            "multi_image_share",
            "video_share",
            "sponsored_share",
            "undisclosed_share",
            "tag_disclosure_share",
            "foreign_marker_share",
            "ad_caption_share",
            "ad_image_share",
            "organic_mention_share",
            "commercial_noise",
            "accessibility_share",
            "drift_share",
            "defects",
        ):
            _require(0.0 <= getattr(self, name) <= 1.0, f"{name} must be within [0, 1]")
        _require(self.span_days >= 1, "span_days must be >= 1")
        _require(
            len(self.split) == 3 and abs(sum(self.split) - 1.0) < 1e-6 and min(self.split) >= 0,
            "split must be three non-negative fractions summing to 1",
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorldKnobs:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        _require(not unknown, f"unknown world knobs {unknown}; known: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
