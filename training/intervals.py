"""Intervals that tell a difference from noise, always paired across methods.

* Over k folds: every method is scored on the same folds, so the fold-by-fold differences between
  two methods cancel what the folds share (an easy fold is easy for both); Student-t interval.
* On one split: a paired percentile bootstrap over the test influencers (every method's
  predictions resampled with the same influencers); it covers which influencers were tested, not
  how training might have gone with another seed or split.

A difference is a result only where its 95% interval excludes zero; otherwise the two methods are
not told apart by this evaluation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """Mean of ``n`` values with a two-sided Student-t interval (``half_width`` NaN when n < 2)."""

    mean: float
    half_width: float
    n: int
    confidence: float = CONFIDENCE
    bounds: tuple[float, float] | None = None  # asymmetric (bootstrap) bounds; else mean ± half_width

    @property
    def low(self) -> float:
        return self.bounds[0] if self.bounds else self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.bounds[1] if self.bounds else self.mean + self.half_width

    @property
    def known(self) -> bool:
        return math.isfinite(self.half_width)

    def verdict(self) -> str:
        """For a difference A - B: "beats" / "loses" only when the interval excludes zero."""
        if not self.known:
            return "no interval"
        if self.low > 0:
            return "beats"
        if self.high < 0:
            return "loses"
        return "not told apart"

    def to_dict(self) -> dict[str, float | int | str]:
        return {
            "mean": self.mean,
            "half_width": self.half_width if self.known else None,
            "low": self.low if self.known else None,
            "high": self.high if self.known else None,
            "n": self.n,
            "confidence": self.confidence,
        }


def t_interval(values: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE) -> Interval:
    """The mean of ``values`` and the half-width t_{(1+c)/2, n-1} * s / sqrt(n)."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError(f"need a non-empty 1-D sequence of values, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"values must be finite, got {x.tolist()}")
    if len(x) < 2:
        return Interval(float(x[0]), math.nan, 1, confidence)
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, len(x) - 1)) * sd / math.sqrt(len(x))
    return Interval(float(x.mean()), half, len(x), confidence)


def paired_difference(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE
) -> Interval:
    """Interval of A - B from per-fold scores of two methods on the same folds."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"paired scores need the same folds: {x.shape} vs {y.shape}")
    return t_interval(x - y, confidence)


def macro_f1_resampled(y_true: np.ndarray, y_pred: np.ndarray, rows: np.ndarray, classes: int) -> np.ndarray:
    """Macro-F1 (over the categories present in each resample's truth) of ``rows`` (R, n) resamples
    of the influencers; (R,)."""
    t, p = y_true[rows], y_pred[rows]  # (R, n)
    r = np.arange(len(rows))[:, None]
    cell = (r * classes * classes + t * classes + p).ravel()
    confusion = np.bincount(cell, minlength=len(rows) * classes * classes).reshape(
        len(rows), classes, classes
    )
    tp = np.diagonal(confusion, axis1=1, axis2=2).astype(np.float64)  # (R, C)
    true_n, pred_n = confusion.sum(axis=2), confusion.sum(axis=1)
    denom = true_n + pred_n
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    present = true_n > 0
    return (f1 * present).sum(axis=1) / present.sum(axis=1)


def paired_bootstrap(
    y_true: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    pairs: Sequence[tuple[str, str]],
    classes: int,
    resamples: int = 2000,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> tuple[dict[str, Interval], dict[tuple[str, str], Interval]]:
    """Percentile intervals of each method's macro-F1 and of each pair's difference (A - B), every
    method resampled with the same influencers."""
    y = np.asarray(y_true, dtype=np.int64)
    if len(y) < 2:
        raise ValueError(f"a bootstrap needs at least 2 test influencers, got {len(y)}")
    rows = np.random.default_rng(seed).integers(0, len(y), size=(resamples, len(y)))
    full = np.arange(len(y))[None, :]
    draws = {
        k: macro_f1_resampled(y, np.asarray(v, dtype=np.int64), rows, classes) for k, v in predictions.items()
    }
    point = {
        k: float(macro_f1_resampled(y, np.asarray(v, dtype=np.int64), full, classes)[0])
        for k, v in predictions.items()
    }
    methods = {k: percentile_interval(point[k], draws[k], len(y), confidence) for k in predictions}
    differences = {
        (a, b): percentile_interval(point[a] - point[b], draws[a] - draws[b], len(y), confidence)
        for a, b in pairs
    }
    return methods, differences


def percentile_interval(point: float, draws: np.ndarray, n: int, confidence: float = CONFIDENCE) -> Interval:
    """The percentile interval of bootstrap ``draws`` around the statistic's ``point`` value on the
    whole sample (``n`` resampled units); draws that are NaN (undefined in that resample) are left out,
    and with none defined the interval is unknown."""
    values = np.asarray(draws, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return Interval(point, math.nan, n, confidence)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(point, float(high - low) / 2, n, confidence, (float(low), float(high)))
