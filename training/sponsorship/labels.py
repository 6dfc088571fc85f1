"""What the data says about each post of a post table: paid-partnership tag, disclosure marker,
brand named (the reader's ``sponsored``, ``disclosures``, ``mentions``), row for row, cached. A
feature store carries the same three flags per post, written by its Spark job from the Spark
reader's same fields (``training.store.read.FeatureStore.sponsorship``).

And what only a synthetic world knows: the truth of each post (``ad``: disclosed, undisclosed or
none), read from ``world.json``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from training.dataset.fingerprint import dataset_fingerprint
from training.dataset.reader import open_dataset
from training.encoders.features import FeatureCache, PostTable
from training.sponsorship.markers import DISCLOSURE_HASHTAGS, DISCLOSURE_PHRASES

if TYPE_CHECKING:
    from training.pipeline import Prepared

_MARKERS_ID = hashlib.sha256(
    ("|".join(sorted(DISCLOSURE_HASHTAGS)) + "||" + "|".join(DISCLOSURE_PHRASES)).encode()
).hexdigest()[:16]  # the cache key follows the marker lists

AD_NONE, AD_DISCLOSED, AD_UNDISCLOSED = 0, 1, 2
_AD_CODES = {None: AD_NONE, "disclosed": AD_DISCLOSED, "undisclosed": AD_UNDISCLOSED}


@dataclass(frozen=True)
class PostSponsorship:
    """(N,) bool each, rows of the post table."""

    tagged: np.ndarray  # the paid-partnership tag (a sponsor account or is_paid_partnership)
    marked: np.ndarray  # a disclosure marker in the caption or tags
    mentioned: np.ndarray  # names an account (tagged user or @mention)

    @property
    def disclosed(self) -> np.ndarray:
        return self.tagged | self.marked


def post_sponsorship(
    roots: Sequence[str | Path], table: PostTable, cache_dir: str | None = None
) -> PostSponsorship:
    """Read the posts of ``table``'s influencers once (cached by dataset, table and marker lists)
    and align to ``table`` (a table of a sample reads only the sample's posts)."""
    cache = FeatureCache(cache_dir, dataset_fingerprint(roots))
    names = list(dict.fromkeys(table.influencers.tolist()))

    def compute() -> np.ndarray:
        flags: dict[tuple[str, str], tuple[bool, bool, bool]] = {}
        with open_dataset(list(roots)) as ds:
            for post in ds.iter_posts(names):
                flags[(post.influencer, post.post_id)] = (
                    post.sponsored,
                    bool(post.disclosures),
                    bool(post.mentions),
                )
        out = np.zeros((len(table), 3), dtype=np.uint8)
        for i, key in enumerate(zip(table.influencers.tolist(), table.post_ids.tolist(), strict=True)):
            out[i] = flags[key]
        return out

    rows = hashlib.sha256("\n".join(table.post_ids.tolist()).encode()).hexdigest()[:16]
    got = cache.array(cache.key("sponsorship", {"markers": _MARKERS_ID, "rows": rows}), compute)
    return PostSponsorship(tagged=got[:, 0] > 0, marked=got[:, 1] > 0, mentioned=got[:, 2] > 0)


def world_ads(roots: Sequence[str | Path], post_ids: Iterable[str]) -> np.ndarray | None:
    """(N,) int8 ad truth (AD_NONE, AD_DISCLOSED, AD_UNDISCLOSED) of a synthetic world's posts, in
    the order of ``post_ids``; None for a copy without ``world.json`` (the public dataset knows no
    undisclosed ads)."""
    from training.synth.meta import load_world_meta

    for root in roots:
        meta = load_world_meta(root)
        if meta is not None:
            return np.fromiter((_AD_CODES[meta.truth(p).ad] for p in post_ids), dtype=np.int8)
    return None


def prepared_sponsorship(prep: Prepared, cache_dir: str | None = None) -> PostSponsorship:
    """The flags of every row of ``prep``'s features: a feature store's own columns (the Spark job
    wrote them), or ``post_sponsorship`` over the post table."""
    if prep.store is not None:
        return prep.store.sponsorship()
    assert prep.table is not None, "a Prepared holds a post table or a feature store"
    return post_sponsorship(prep.roots, prep.table, cache_dir)


def prepared_ads(prep: Prepared) -> np.ndarray | None:
    """``world_ads`` for every row of ``prep``'s features (a store's post ids are read a batch at a
    time; the ad truth holds one byte per post)."""
    if prep.store is not None:
        return world_ads(prep.roots, chain.from_iterable(prep.store.post_id_batches()))
    assert prep.table is not None, "a Prepared holds a post table or a feature store"
    return world_ads(prep.roots, prep.table.post_ids.tolist())
