"""Captions, hashtags and user tags of synthetic posts: category vocabularies plus shared filler.

Each category owns words, hashtags and brands. A post's text is written from one category's
vocabulary (the *text category*, which for close pairs may be the partner's, see world.py), in
one of a few styles: ``polished`` and ``story`` for styled posts, ``casual`` and ``question`` for
the rest. Generic posts (selfies, giveaways, "link in bio") use only shared filler.

A styled topical post may name a brand (``BrandPlan``): a paid post, disclosed by the
paid-partnership tag and/or a written marker or not at all, with or without a commercial line; or an
organic mention. A written marker is independent of everything else in the text (a hashtag in the
tag block, or a phrase on a line of its own), so masking it leaves a disclosed ad's text
distributed like an undisclosed one's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from training.dataset.categories import CATEGORIES
from training.synth.vocab import (
    AD_LINES,
    BRAND_LINES,
    CALLS,
    CASUAL_END,
    CASUAL_START,
    COMMERCIAL_NOISE,
    EMOJI,
    GENERIC_HASHTAGS,
    GIVEAWAY,
    HASHTAGS,
    LINK_IN_BIO,
    OPENERS,
    SELFIE,
    WORDS,
)


@dataclass(frozen=True, slots=True)
class PostText:
    caption: str
    usertags: tuple[str, ...]
    sponsor: str | None


@dataclass(frozen=True, slots=True)
class BrandPlan:
    """How a post names a brand (drawn in world.plan_posts)."""

    brand: str  # the brand's account
    paid: bool
    tagged: bool = False  # the paid-partnership tag names the brand (a disclosure)
    marker: str | None = None  # a written disclosure: a hashtag (no '#') or, when it has a space, a phrase
    commercial: bool = False  # a commercial line that sells (a code, "shop it now at @brand")
    usertag: bool = True  # the brand is a tagged user
    at_mention: bool = False  # the caption @mentions the brand

    def __post_init__(self) -> None:
        assert self.usertag or self.at_mention or self.commercial, "a brand plan names the brand"
        assert self.paid or not (self.tagged or self.marker or self.commercial), "only paid posts disclose"


def _brand_line(rng: random.Random, plan: BrandPlan) -> str | None:
    if plan.commercial:
        line = rng.choice(AD_LINES).format(
            brand=plan.brand,
            code=f"{plan.brand[:4].upper()}{rng.randint(10, 30)}",
            pct=rng.choice((10, 15, 20, 25)),
        )
    elif plan.at_mention:
        line = rng.choice(BRAND_LINES).format(brand=plan.brand)
    else:
        return None
    return line[0].upper() + line[1:] + "."


def _content_words(rng: random.Random, category: str, n: int, noise: float) -> list[str]:
    """``n`` distinct words of ``category``; each swapped for a random category's word w.p. ``noise``."""
    words: list[str] = []
    while len(words) < n:
        source = rng.choice(CATEGORIES) if rng.random() < noise else category
        word = rng.choice(WORDS[source])
        if word not in words:
            words.append(word)
    return words


def _phrase(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _tags(rng: random.Random, category: str, n: int, noise: float) -> list[str]:
    tags = []
    for _ in range(n):
        source = rng.choice(CATEGORIES) if rng.random() < noise else category
        tags.append(rng.choice(HASHTAGS[source]))
    return tags


def topical_text(
    rng: random.Random,
    category: str,
    styled: bool,
    noise: float,
    friends: list[str],
    brand: BrandPlan | None = None,
    commercial_noise: bool = False,
) -> PostText:
    """A post about ``category``: polished/story when styled, casual/question otherwise. ``brand``
    (styled posts only) names a brand, paid or not; ``commercial_noise`` adds a line that sounds
    commercial to an unpaid post."""
    assert brand is None or styled, "brands are named by styled posts"
    usertags: list[str] = []
    sponsor = brand.brand if brand is not None and brand.tagged else None
    if styled:
        words = _content_words(rng, category, rng.randint(2, 4), noise)
        tags = _tags(rng, category, rng.randint(4, 8), noise) + rng.sample(
            GENERIC_HASHTAGS, rng.randint(1, 3)
        )
        marker = brand.marker if brand is not None else None
        if marker is not None and " " not in marker:
            tags.insert(rng.randint(0, len(tags)), marker)
        if rng.random() < 0.7:
            body = f"{rng.choice(OPENERS)} {_phrase(words)} {rng.choice(EMOJI)}\n{rng.choice(CALLS)}"
        else:
            body = (
                f"Long day but worth it. {_phrase(words).capitalize()}. "
                f"Honestly didn't expect the {words[-1]} to be this good {rng.choice(EMOJI)}"
            )
        line = _brand_line(rng, brand) if brand is not None else None
        if line is None and commercial_noise:
            line = rng.choice(COMMERCIAL_NOISE).capitalize()
        if line is not None:
            body += "\n" + line
        if marker is not None and " " in marker:
            body = f"{marker}\n{body}"
        if brand is not None and brand.usertag:
            usertags.append(brand.brand)
        caption = body + "\n.\n.\n" + " ".join(f"#{t}" for t in dict.fromkeys(tags))
    else:
        words = _content_words(rng, category, rng.randint(1, 2), noise)
        if rng.random() < 0.7:
            caption = f"{rng.choice(CASUAL_START)} {' '.join(words)} {rng.choice(CASUAL_END)}".strip()
        else:
            other = rng.choice(WORDS[category])
            caption = f"{words[0]} or {other}? help me choose 👇"
        if rng.random() < 0.4:
            caption += f" #{rng.choice(_tags(rng, category, 1, noise))}"
        if commercial_noise:
            caption += f" {rng.choice(COMMERCIAL_NOISE)}"
    if friends and rng.random() < 0.15:
        usertags.append(rng.choice(friends))
    return PostText(caption=caption, usertags=tuple(dict.fromkeys(usertags)), sponsor=sponsor)


def generic_text(rng: random.Random, kind: str, me: str, styled: bool, friends: list[str]) -> PostText:
    """A post about nothing in particular: a selfie, a giveaway or a 'link in bio' post."""
    if kind == "giveaway":
        caption = GIVEAWAY.format(me=me)
    elif kind == "link_in_bio":
        caption = rng.choice(LINK_IN_BIO)
    else:
        caption = rng.choice(SELFIE) + (f" {rng.choice(EMOJI)}" if styled else "")
    if styled:
        caption += " " + " ".join(f"#{t}" for t in rng.sample(GENERIC_HASHTAGS, rng.randint(2, 5)))
    usertags = (rng.choice(friends),) if friends and rng.random() < 0.3 else ()
    return PostText(caption=caption, usertags=usertags, sponsor=None)
