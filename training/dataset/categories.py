"""The nine influencer categories and the label spellings found in real copies of the dataset."""

from __future__ import annotations

CATEGORIES: tuple[str, ...] = (
    "beauty",
    "family",
    "fashion",
    "fitness",
    "food",
    "interior",
    "pet",
    "travel",
    "other",
)

# Misspellings and variants seen in influencers.txt, mapped to the canonical name.
LABEL_FIXES: dict[str, str] = {
    "fasion": "fashion",
    "pets": "pet",
    "interiors": "interior",
    "foods": "food",
    "travels": "travel",
}


def canonical_label(raw: str) -> tuple[str, bool]:
    """(canonical category, whether the spelling was corrected). Raises KeyError if unknown."""
    label = raw.strip().lower()
    if label in CATEGORIES:
        return label, False
    if label in LABEL_FIXES:
        return LABEL_FIXES[label], True
    raise KeyError(f"unknown category {raw!r}; known: {', '.join(CATEGORIES)}")


def category_index(label: str) -> int:
    return CATEGORIES.index(label)
