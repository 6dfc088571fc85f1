"""Disclosure markers and brand mentions in a post's text: what says "this is an ad", and whom it names.

A post discloses a paid partnership in one of two ways: the platform's paid-partnership tag (the
sponsor accounts, ``edge_media_to_sponsor_user`` in the public files) or a marker its author writes:
a hashtag such as ``#ad`` or ``#sponsored`` (and their counterparts in other languages), or a phrase
such as "paid partnership with". The markers are listed here once; the reader reports the ones a post
carries, the streaming validator derives them the same way, and the sponsored-post head reads every
caption with them masked (``mask_markers``, applied by ``training.encoders.text.post_text``) so it
learns what an ad looks like, not the hashtag. Masking removes a marker rather than writing a
placeholder in its place: a placeholder word would itself tell a disclosed post from the rest.

Brand mentions are the accounts a post names: its tagged users and the @mentions of its caption.

Pure Python, no third-party imports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Hashtags that disclose a paid post, lower case, without '#'. English first, then the languages of
# the public dataset's most frequent non-English disclosures (German, Spanish/Portuguese, French,
# Italian, Dutch, Swedish/Danish/Norwegian).
DISCLOSURE_HASHTAGS: frozenset[str] = frozenset(
    {
        "ad", "ads", "advert", "advertisement", "sponsored", "sponsor", "spon", "partner",
        "paidpartnership", "paidpartner", "paid", "brandpartner", "brandambassador", "ambassador",
        "gifted", "collab", "sponsoredpost", "adv",
        "werbung", "anzeige", "bezahltepartnerschaft",
        "publicidad", "patrocinado", "publi", "colaboracion", "publicidade", "parceria",
        "sponsorisé", "sponsorise", "partenariat", "pub", "collaboration",
        "sponsorizzato", "pubblicita",
        "advertentie", "gesponsord",
        "reklam", "annonce", "reklame", "samarbete", "samarbeid",
    }
)  # fmt: skip

# Phrases that disclose a paid post, matched case-insensitively as whole words.
DISCLOSURE_PHRASES: tuple[str, ...] = (
    "paid partnership",
    "in partnership with",
    "sponsored by",
    "bezahlte partnerschaft",
    "colaboración pagada",
    "parceria paga",
    "partenariat rémunéré",
    "collaborazione retribuita",
    "betaald partnerschap",
)

_HASHTAG = re.compile(r"#(\w+)", re.UNICODE)
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?)")
_PHRASE = re.compile(r"\b(" + "|".join(re.escape(p) for p in DISCLOSURE_PHRASES) + r")\b", re.IGNORECASE)
_MARKER_TAG = re.compile(
    r"#(" + "|".join(sorted((re.escape(t) for t in DISCLOSURE_HASHTAGS), key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
MASK = ""  # what mask_markers writes in a marker's place: nothing (see the module's docstring)
_SPACES = re.compile(r"[ \t]{2,}")


def disclosure_markers(caption: str, hashtags: Iterable[str] = ()) -> tuple[str, ...]:
    """The disclosure markers a post carries, each once, in the order found: ``#tag`` for a hashtag
    (from ``hashtags`` and the caption's own), the phrase in lower case for a phrase."""
    found: dict[str, None] = {}
    for tag in (*hashtags, *_HASHTAG.findall(caption)):
        tag = tag.strip().lstrip("#").lower()
        if tag in DISCLOSURE_HASHTAGS:
            found.setdefault(f"#{tag}", None)
    for match in _PHRASE.finditer(caption):
        found.setdefault(match.group(1).lower(), None)
    return tuple(found)


def mask_markers(text: str) -> str:
    """``text`` with every disclosure hashtag and phrase removed (the spaces they leave collapsed)."""
    masked = _MARKER_TAG.sub(MASK, _PHRASE.sub(MASK, text))
    return masked if masked == text else _SPACES.sub(" ", masked).strip()


def caption_mentions(caption: str) -> tuple[str, ...]:
    """The accounts @mentioned in a caption, lower case, each once, in order."""
    return tuple(dict.fromkeys(m.lower() for m in _MENTION.findall(caption)))


def brand_mentions(usertags: Iterable[str], caption: str) -> tuple[str, ...]:
    """The accounts a post names: its tagged users, then the caption's @mentions; lower case, once each."""
    tagged = (u.strip().lstrip("@").lower() for u in usertags if u.strip("@ "))
    return tuple(dict.fromkeys((*tagged, *caption_mentions(caption))))
