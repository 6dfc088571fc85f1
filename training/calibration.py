"""Confidence that knows how many posts it rests on: a temperature that depends on the post count.

An influencer's logits z from n posts become probabilities softmax(z / T(n)) with

    log T(n) = log_t0 + slope * log n          (n >= 1)

fitted by minimising the negative log-likelihood on validation influencers seen through prefixes
of their posts (1, 3, 10, 30 and all of them), so one temperature curve serves a profile built on
three posts and one built on three hundred. T > 1 softens, T < 1 sharpens; the ranking of the
categories never changes, only how sure the profile says it is. ``Calibration()`` (T = 1) leaves
probabilities as the network gives them, for models trained without validation influencers.

Expected calibration error: the posts' top probabilities in ``ECE_BINS`` equal-width bins,
ECE = sum_b |b| / N * |accuracy(b) - mean confidence(b)|.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize

log = logging.getLogger(__name__)

ECE_BINS = 15
CALIBRATION_FILE = "calibration.json"
KIND = "temperature_by_log_post_count"
_LOG_T_BOUNDS = (-4.0, 4.0)  # T in [0.018, 55]
_SLOPE_BOUNDS = (-2.0, 2.0)


def softmax(logits: np.ndarray) -> np.ndarray:
    """(m, C) -> (m, C), row-wise, stable."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """probs (m, C), labels (m,) -> ECE in [0, 1] over ``bins`` equal-width confidence bins."""
    assert probs.ndim == 2 and labels.shape == (len(probs),), "probs (m, C) and labels (m,)"
    if len(probs) == 0:
        return float("nan")
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)  # confidence 1.0 -> last bin
    count = np.bincount(which, minlength=bins).astype(np.float64)
    gap = np.abs(
        np.bincount(which, weights=correct, minlength=bins)
        - np.bincount(which, weights=confidence, minlength=bins)
    )
    return float(gap.sum() / count.sum())


def _nll(logits: np.ndarray, labels: np.ndarray, temperature: np.ndarray) -> float:
    z = logits / temperature[:, None]
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(log_norm - z[np.arange(len(z)), labels]))


@dataclass(frozen=True)
class Calibration:
    log_t0: float = 0.0  # log temperature at one post
    slope: float = 0.0  # d log T / d log n
    fitted_on: int = 0  # validation (influencer, prefix) pairs it was fitted on; 0 = not fitted

    def temperature(self, counts: np.ndarray) -> np.ndarray:
        """(m,) post counts -> (m,) temperatures."""
        n = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)
        return np.exp(self.log_t0 + self.slope * np.log(n))

    def probabilities(self, logits: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """logits (m, C), counts (m,) -> calibrated probabilities (m, C)."""
        assert logits.ndim == 2 and np.shape(counts) == (len(logits),), "logits (m, C) and counts (m,)"
        return softmax(np.asarray(logits, dtype=np.float64) / self.temperature(counts)[:, None])

    def to_dict(self) -> dict[str, Any]:
        return {"kind": KIND, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        if data.get("kind") != KIND:
            raise ValueError(f"calibration kind {data.get('kind')!r} is not {KIND!r}")
        return cls(float(data["log_t0"]), float(data["slope"]), int(data.get("fitted_on", 0)))


def fit_calibration(logits: np.ndarray, labels: np.ndarray, counts: np.ndarray) -> Calibration:
    """Maximum-likelihood (log_t0, slope) on logits (m, C) of bags of ``counts`` (m,) posts.

    With a single distinct post count the slope is not identifiable and stays 0."""
    assert logits.ndim == 2 and labels.shape == counts.shape == (len(logits),), "shapes (m, C), (m,), (m,)"
    if len(logits) == 0:
        return Calibration()
    x = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    log_n = np.log(np.maximum(np.asarray(counts, dtype=np.float64), 1.0))
    vary = bool(np.ptp(log_n) > 0)

    def loss(params: np.ndarray) -> float:
        slope = params[1] if vary else 0.0
        return _nll(x, y, np.exp(params[0] + slope * log_n))

    result = optimize.minimize(
        loss, np.zeros(2), method="L-BFGS-B", bounds=[_LOG_T_BOUNDS, _SLOPE_BOUNDS if vary else (0.0, 0.0)]
    )
    fitted = Calibration(float(result.x[0]), float(result.x[1]) if vary else 0.0, len(x))
    log.info(
        "calibration: T(1) %.3f, T(30) %.3f (NLL %.4f -> %.4f on %d bags)",
        *fitted.temperature(np.array([1, 30])),
        loss(np.zeros(2)),
        float(result.fun),
        len(x),
    )
    return fitted


def save_calibration(folder: str | Path, calibration: Calibration) -> None:
    path = Path(folder) / CALIBRATION_FILE
    path.write_text(json.dumps(calibration.to_dict(), indent=2, sort_keys=True) + "\n")


def load_calibration(folder: str | Path) -> Calibration | None:
    """The folder's calibration stage, or None for a model saved without one."""
    path = Path(folder) / CALIBRATION_FILE
    return Calibration.from_dict(json.loads(path.read_text())) if path.is_file() else None
