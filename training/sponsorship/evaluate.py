"""How well undisclosed paid posts are found, on a synthetic world's truth (``world.json``).

The question a regulator asks: among the posts that disclose nothing (no paid-partnership tag, no
marker), which are paid? Candidates are the test influencers' posts without a disclosure; the
positives are the undisclosed ads among them. Every method scores each candidate:

    head           the sponsored-post head, P(paid | f, not disclosed) (training.sponsorship.head)
    text_lr        a logistic regression on the masked text features alone, trained on the same
                   labels (disclosed vs the rest, training influencers; a seeded sample of
                   LR_MAX_POSTS of their posts when they have more) and turned into the same
                   probability with its own label frequency (validation influencers)
    has_disclosure the rule "has #ad": a disclosure marker or the tag (on these candidates it
                   never fires, by definition: what it cannot find is the point)
    names_brand    the rule "names a brand": a tagged user or an @mention

Each gets average precision (scored on the ranking; a method that ranks everything the same
scores the positives' share), and precision and recall at probability >= ``threshold`` (the rules:
when they fire). A second view, "paid posts", asks the same of every test post (positives: every
ad, disclosed or not; the head's ``probability``, the rule's disclosure flag). Intervals: a
percentile bootstrap over the test influencers (all methods resampled with the same influencers,
so the head's differences from each baseline are paired), as the category comparison does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from training.bags import post_rows
from training.intervals import CONFIDENCE, percentile_interval
from training.sponsorship.head import SponsoredHead, undisclosed_from_disclosed
from training.sponsorship.labels import AD_NONE, AD_UNDISCLOSED, prepared_ads, prepared_sponsorship
from training.sponsorship.rows import PostRows, over_rows

if TYPE_CHECKING:
    from training.pipeline import Prepared

log = logging.getLogger(__name__)

METHOD_NAMES = {
    "head": "Sponsored head (image + text features, positive-unlabelled)",
    "text_lr": "Logistic regression on the masked text features",
    "has_disclosure": 'Rule "has #ad" (a disclosure marker or the tag)',
    "names_brand": "Rule: names a brand (tagged or @mentioned)",
}
BASELINES = ("text_lr", "has_disclosure", "names_brand")
_CHUNK = 50  # bootstrap resamples per vectorised block
LR_MAX_POSTS = 100_000  # training posts the text baseline is fitted on at most (x 384 floats: ~150 MB)


def _tie_ends(sorted_scores: np.ndarray) -> np.ndarray:
    """Indices of the last element of each run of equal scores (scores sorted descending)."""
    return np.r_[np.flatnonzero(np.diff(sorted_scores) != 0), len(sorted_scores) - 1]


def average_precision(
    scores: np.ndarray, positives: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Average precision, sum over thresholds of (R_k - R_{k-1}) * P_k, ties as one threshold (as
    scikit-learn computes it). ``weights`` (R, n) repeats posts (a bootstrap's counts) and gives
    (R,) values; without it, (1,). NaN where a row weighs no positive."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    s, pos = np.asarray(scores, dtype=np.float64)[order], np.asarray(positives, dtype=bool)[order]
    w = np.ones((1, len(s))) if weights is None else np.asarray(weights, dtype=np.float64)[:, order]
    ends = _tie_ends(s) if len(s) else np.zeros(0, np.int64)
    tp = np.cumsum(w * pos, axis=1)[:, ends]  # (R, thresholds)
    fp = np.cumsum(w * ~pos, axis=1)[:, ends]
    total = tp[:, -1] if len(ends) else np.zeros(len(w))
    precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
    gained = np.diff(np.concatenate([np.zeros((len(w), 1)), tp], axis=1), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (gained * precision).sum(axis=1) / total, np.nan)


def precision_recall(
    predicted: np.ndarray, positives: np.ndarray, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall of a yes/no prediction, (R,) each (NaN where undefined)."""
    w = np.ones((1, len(predicted))) if weights is None else np.asarray(weights, dtype=np.float64)
    pred, pos = np.asarray(predicted, dtype=bool), np.asarray(positives, dtype=bool)
    tp, flagged, actual = (w * (pred & pos)).sum(1), (w * pred).sum(1), (w * pos).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(flagged > 0, tp / flagged, np.nan), np.where(actual > 0, tp / actual, np.nan)


@dataclass(frozen=True)
class TextLogisticRegression:
    """The text-only baseline: scikit-learn's logistic regression on standardised text features."""

    model: Any  # a fitted sklearn Pipeline
    label_frequency: float

    def disclosed_probability(self, text: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(text)[:, 1]

    def undisclosed_probability(self, text: np.ndarray) -> np.ndarray:
        return undisclosed_from_disclosed(self.disclosed_probability(text), self.label_frequency)

    def probability(self, text: np.ndarray) -> np.ndarray:
        return np.minimum(self.disclosed_probability(text) / self.label_frequency, 1.0)


def fit_text_lr(
    text: PostRows,
    disclosed: np.ndarray,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    seed: int,
    max_posts: int = LR_MAX_POSTS,
) -> TextLogisticRegression:
    """Fitted on every training post, or on a seeded sample of ``max_posts`` of them when there are
    more (scikit-learn's solver holds its training matrix in memory)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rows = train_rows
    if len(rows) > max_posts:
        rows = np.sort(np.random.default_rng(seed).choice(train_rows, size=max_posts, replace=False))
        log.info(
            "text LR baseline: fitted on %d of the %d training posts (a seeded sample)",
            max_posts,
            len(train_rows),
        )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    model.fit(np.asarray(text[rows], dtype=np.float32), disclosed[rows])
    held = val_rows if len(val_rows) and disclosed[val_rows].any() else train_rows
    c = float(over_rows(lambda t: model.predict_proba(t)[:, 1], text, held[disclosed[held]]).mean())
    return TextLogisticRegression(model, min(max(c, 1e-6), 1.0))


def _view(
    scores: dict[str, np.ndarray],
    flags: dict[str, np.ndarray],
    positives: np.ndarray,
    groups: np.ndarray,
    resamples: int,
    seed: int,
) -> dict[str, Any]:
    """AP, precision and recall of every method on one candidate set, each with its bootstrap
    interval over the influencers (``groups`` (n,) their indices), and the head's paired AP
    differences from each baseline."""
    _, group = np.unique(groups, return_inverse=True)
    n_groups = int(group.max()) + 1 if len(group) else 0
    rng = np.random.default_rng(seed)
    draws: dict[str, dict[str, list[np.ndarray]]] = {m: {"ap": [], "p": [], "r": []} for m in scores}
    for start in range(0, resamples, _CHUNK):
        picks = rng.integers(0, n_groups, size=(min(_CHUNK, resamples - start), n_groups))
        counts = np.stack([np.bincount(row, minlength=n_groups) for row in picks])  # (R, G)
        weights = counts[:, group]  # (R, n)
        for m in scores:
            draws[m]["ap"].append(average_precision(scores[m], positives, weights))
            p, r = precision_recall(flags[m], positives, weights)
            draws[m]["p"].append(p)
            draws[m]["r"].append(r)
    methods: dict[str, Any] = {}
    joined = {m: {k: np.concatenate(v) for k, v in d.items()} for m, d in draws.items()}
    for m in scores:
        ap = float(average_precision(scores[m], positives)[0])
        p, r = (float(v[0]) for v in precision_recall(flags[m], positives))
        methods[m] = {
            "average_precision": percentile_interval(ap, joined[m]["ap"], n_groups).to_dict(),
            "precision": percentile_interval(p, joined[m]["p"], n_groups).to_dict(),
            "recall": percentile_interval(r, joined[m]["r"], n_groups).to_dict(),
            "flagged": int(np.sum(flags[m])),
        }
    differences = []
    for b in (m for m in BASELINES if m in scores):
        point = methods["head"]["average_precision"]["mean"] - methods[b]["average_precision"]["mean"]
        interval = percentile_interval(point, joined["head"]["ap"] - joined[b]["ap"], n_groups)
        differences.append({"a": "head", "b": b, "metric": "average_precision", **interval.to_dict(),
                            "verdict": interval.verdict()})  # fmt: skip
    return {
        "candidates": int(len(positives)),
        "positives": int(np.sum(positives)),
        "influencers": n_groups,
        "methods": methods,
        "differences": differences,
    }


def evaluate_sponsorship(
    prep: Prepared,
    head: SponsoredHead | None,
    features: np.ndarray,
    cache_dir: str | None = None,
    seed: int = 0,
    resamples: int = 2000,
    threshold: float = 0.5,
) -> dict[str, Any] | None:
    """The report's sponsorship section, or None (logged) when the model has no head or the copy no
    ad truth. ``features`` (N, F): the head's input for every row of ``prep.table`` or of its
    feature store (then the store's flags are the labels, and the held-out posts' features are
    read from it a chunk at a time)."""
    if head is None:
        log.info("no sponsorship evaluation: the model has no head")
        return None
    ads = prepared_ads(prep)
    if ads is None:
        log.info("no sponsorship evaluation: no world.json")
        return None
    labels = prepared_sponsorship(prep, cache_dir)
    disclosed, bags = labels.disclosed, prep.bags
    test = post_rows(bags, prep.split["test"])
    if not len(test):
        return None
    owner = np.repeat(prep.split["test"], bags.counts()[prep.split["test"]])  # (len(test),) bag of each
    text = prep.blocks["text"] if prep.store is None else prep.store.features(("text",))
    lr = fit_text_lr(
        text, disclosed, post_rows(bags, prep.split["train"]), post_rows(bags, prep.split["val"]), seed
    )
    undisclosed_at = ~disclosed[test]  # (len(test),) the candidates among the test posts
    candidates = test[undisclosed_at]
    undisclosed: dict[str, np.ndarray] = {
        "head": over_rows(head.undisclosed_probability, features, candidates),
        "text_lr": over_rows(lr.undisclosed_probability, text, candidates),
        "has_disclosure": disclosed[candidates].astype(np.float64),
        "names_brand": labels.mentioned[candidates].astype(np.float64),
    }
    paid: dict[str, np.ndarray] = {
        "head": over_rows(head.probability, features, test),
        "text_lr": over_rows(lr.probability, text, test),
        "has_disclosure": disclosed[test].astype(np.float64),
        "names_brand": labels.mentioned[test].astype(np.float64),
    }
    views = {}
    for name, groups, scores, positives in (
        ("undisclosed", owner[undisclosed_at], undisclosed, ads[candidates] == AD_UNDISCLOSED),
        ("paid", owner, paid, ads[test] != AD_NONE),
    ):
        flags = {m: v >= threshold for m, v in scores.items()}
        views[name] = _view(scores, flags, positives, groups, resamples, seed)
    result = {
        "threshold": threshold,
        "resamples": resamples,
        "confidence": CONFIDENCE,
        "label_frequency": {"head": head.config.label_frequency, "text_lr": lr.label_frequency},
        "test_posts": int(len(test)),
        "test_disclosed": int(disclosed[test].sum()),
        "undisclosed": views["undisclosed"],
        "paid": views["paid"],
    }
    got = views["undisclosed"]["methods"]
    log.info(
        "undisclosed ads: %d of %d candidates; AP head %.3f, text LR %.3f, has #ad %.3f",
        views["undisclosed"]["positives"],
        views["undisclosed"]["candidates"],
        got["head"]["average_precision"]["mean"],
        got["text_lr"]["average_precision"]["mean"],
        got["has_disclosure"]["average_precision"]["mean"],
    )
    return result
