"""Intervals that tell a difference from noise: Student-t intervals over folds, paired across methods.

Every method is scored on the same k folds, so the fold-by-fold differences between two methods
cancel what the folds share (an easy fold is easy for both). A difference is a result only where
its 95% interval excludes zero; otherwise the two methods are not told apart by this evaluation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

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
