"""Influencers seen through the first posts only: what a live profile knows after 1, 3, 10, 30 posts.

A prefix of length k keeps each influencer's first k posts in time order (all of them when it has
fewer), which is the state the streaming job holds after its k-th post. The calibration is fitted
on validation prefixes and judged on test prefixes: accuracy, mean confidence and expected
calibration error against the post count, before and after calibration.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from training.bags import InfluencerBags
from training.calibration import Calibration, expected_calibration_error, fit_calibration, softmax
from training.profiler import PostAttentiveProfiler
from training.train import Predictions, predict_bags

log = logging.getLogger(__name__)

PREFIXES: tuple[int | None, ...] = (1, 3, 10, 30, None)  # None = every post


def prefix_name(length: int | None) -> str:
    return "all" if length is None else str(length)


def prefix_bags(bags: InfluencerBags, length: int | None) -> InfluencerBags:
    """The same bags cut to their first ``length`` posts (None: unchanged)."""
    if length is None:
        return bags
    assert length >= 1, f"a prefix holds at least one post, got {length}"
    return replace(bags, ends=np.minimum(bags.ends, bags.starts + length))


def predict_prefixes(
    model: PostAttentiveProfiler,
    features: np.ndarray,
    bags: InfluencerBags,
    idx: np.ndarray,
    lengths: Sequence[int | None] = PREFIXES,
    device: str = "auto",
) -> dict[str, Predictions]:
    """Predictions of the bags ``idx`` per prefix length, keyed by ``prefix_name``."""
    return {
        prefix_name(k): predict_bags(model, features, prefix_bags(bags, k), idx, device=device)
        for k in lengths
    }


def calibrate(by_prefix: dict[str, Predictions], bags: InfluencerBags) -> Calibration:
    """Fit the post-count temperature on every (influencer, prefix) pair of ``by_prefix``
    (validation predictions); T = 1 when there is nothing to fit on."""
    preds = [p for p in by_prefix.values() if len(p.idx)]
    if not preds:
        log.warning("no validation influencers: probabilities stay uncalibrated (T = 1)")
        return Calibration()
    logits = np.concatenate([p.logits for p in preds]).astype(np.float64)
    labels = np.concatenate([bags.labels[p.idx] for p in preds])
    counts = np.concatenate([p.counts for p in preds])
    return fit_calibration(logits, labels, counts)


def prefix_table(
    by_prefix: dict[str, Predictions], bags: InfluencerBags, calibration: Calibration
) -> list[dict[str, Any]]:
    """One row per prefix: influencers, mean posts pooled, accuracy, mean confidence and ECE,
    uncalibrated (``raw``) and calibrated."""
    rows = []
    for name, pred in by_prefix.items():
        if not len(pred.idx):
            continue
        labels = bags.labels[pred.idx]
        raw = softmax(pred.logits.astype(np.float64))
        calibrated = calibration.probabilities(pred.logits, pred.counts)
        rows.append({
            "prefix": name,
            "influencers": int(len(pred.idx)),
            "mean_posts": float(pred.counts.mean()),
            "accuracy": float(np.mean(raw.argmax(axis=1) == labels)),
            "confidence_raw": float(raw.max(axis=1).mean()),
            "confidence_calibrated": float(calibrated.max(axis=1).mean()),
            "ece_raw": expected_calibration_error(raw, labels),
            "ece_calibrated": expected_calibration_error(calibrated, labels),
            "temperature": float(calibration.temperature(pred.counts).mean()),
        })  # fmt: skip
    return rows


def pooled_ece(
    by_prefix: dict[str, Predictions], bags: InfluencerBags, calibration: Calibration
) -> dict[str, float]:
    """ECE over every (influencer, prefix) pair at once, before and after calibration."""
    preds = [p for p in by_prefix.values() if len(p.idx)]
    if not preds:
        return {}
    logits = np.concatenate([p.logits for p in preds]).astype(np.float64)
    labels = np.concatenate([bags.labels[p.idx] for p in preds])
    counts = np.concatenate([p.counts for p in preds])
    return {
        "ece_raw": expected_calibration_error(softmax(logits), labels),
        "ece_calibrated": expected_calibration_error(calibration.probabilities(logits, counts), labels),
        "pairs": int(len(labels)),
    }
