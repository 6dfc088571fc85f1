"""Captions, hashtags and user tags of synthetic posts: category vocabularies plus shared filler.

Each category owns words, hashtags and brands. A post's text is written from one category's
vocabulary (the *text category*, which for close pairs may be the partner's, see world.py), in
one of a few styles: ``polished`` and ``story`` for styled posts, ``casual`` and ``question`` for
the rest. Generic posts (selfies, giveaways, "link in bio") use only shared filler.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from training.dataset.categories import CATEGORIES
from training.synth.vocab import (
    BRANDS,
    CALLS,
    CASUAL_END,
    CASUAL_START,
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
    rng: random.Random, category: str, styled: bool, noise: float, sponsored: bool, friends: list[str]
) -> PostText:
    """A post about ``category``: polished/story when styled, casual/question otherwise."""
    usertags: list[str] = []
    sponsor = rng.choice(BRANDS[category]) if sponsored else None
    if styled:
        words = _content_words(rng, category, rng.randint(2, 4), noise)
        tags = _tags(rng, category, rng.randint(4, 8), noise) + rng.sample(
            GENERIC_HASHTAGS, rng.randint(1, 3)
        )
        if sponsored:
            tags = ["ad", *tags]
        if rng.random() < 0.7:
            body = f"{rng.choice(OPENERS)} {_phrase(words)} {rng.choice(EMOJI)}\n{rng.choice(CALLS)}"
        else:
            body = (
                f"Long day but worth it. {_phrase(words).capitalize()}. "
                f"Honestly didn't expect the {words[-1]} to be this good {rng.choice(EMOJI)}"
            )
        if sponsor is not None:
            body += f" In partnership with @{sponsor}."
            usertags.append(sponsor)
        elif rng.random() < 0.5:
            usertags.append(rng.choice(BRANDS[category]))
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
