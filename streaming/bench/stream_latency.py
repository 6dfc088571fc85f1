"""End-to-end latency of the streaming job from the record times on its topics (pure functions).

Every post record on `posts` and every output record carries the time its producer sent it. A
post's latency to its profile is from its record to the first profile record that counts it (the
influencer's k-th post is counted once a profile reports post_count >= k); to a reclassification,
from its record to the reclassified record that lists it among the trigger posts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np


def post_to_profile_ms(
    posts: Sequence[tuple[str, int]], profiles: Sequence[tuple[str, int, int]]
) -> np.ndarray:
    """Per post, ms from its record to the first profile record that counts it.

    posts: (influencer, send_ms) in topic order, every post of the topic (an influencer's k-th post
    is the k-th of its records); profiles: (influencer, post_count, send_ms) in topic order.
    Returns (n,) float64 with NaN for posts no profile counts yet.
    """
    counts: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for influencer, post_count, sent in profiles:
        counts[influencer].append((post_count, sent))
    seen: dict[str, int] = defaultdict(int)
    out = np.full(len(posts), np.nan)
    for i, (influencer, sent) in enumerate(posts):
        seen[influencer] += 1
        k = seen[influencer]
        first = next((at for count, at in counts.get(influencer, ()) if count >= k), None)
        if first is not None:
            out[i] = first - sent
    return out


def post_to_reclassification_ms(
    post_sent_ms: dict[str, int], reclassified: Sequence[tuple[Sequence[str], int]]
) -> np.ndarray:
    """ms from each trigger post's record to its reclassified record: (trigger_posts, send_ms)."""
    return np.array(
        [sent - post_sent_ms[p] for triggers, sent in reclassified for p in triggers if p in post_sent_ms],
        dtype=np.float64,
    )


def percentiles(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return float("nan"), float("nan")
    p50, p99 = np.percentile(finite, [50, 99])
    return float(p50), float(p99)


def batch_breakdown_ms(progress: Sequence[dict]) -> dict[str, float]:
    """Mean ms per phase over the micro-batches that read posts, from StreamingQueryProgress dicts.

    Keys: Spark's ``durationMs`` phases (addBatch, queryPlanning, walCommit, ...) and, of the
    state operator, ``state_update`` (allUpdatesTimeMs) and ``state_commit`` (commitTimeMs), plus
    ``input_rows`` (mean posts per batch, not ms). Empty when no batch read anything.
    """
    sums: dict[str, list[float]] = defaultdict(list)
    for batch in progress:
        if not batch.get("numInputRows"):
            continue
        sums["input_rows"].append(float(batch["numInputRows"]))
        for phase, ms in (batch.get("durationMs") or {}).items():
            sums[phase].append(float(ms))
        for operator in batch.get("stateOperators") or ():
            sums["state_update"].append(float(operator.get("allUpdatesTimeMs", 0)))
            sums["state_commit"].append(float(operator.get("commitTimeMs", 0)))
    return {key: float(np.mean(values)) for key, values in sums.items()}


SLOW_BATCH_MS = 3000.0


def slow_batches(progress: Sequence[dict], limit_ms: float = SLOW_BATCH_MS) -> int:
    """How many micro-batches that read posts took longer than ``limit_ms`` (triggerExecution)."""
    return sum(
        1
        for batch in progress
        if batch.get("numInputRows")
        and float((batch.get("durationMs") or {}).get("triggerExecution", 0)) > limit_ms
    )


def phase_key(name: str) -> str:
    """Spark's camelCase phase names as JSON keys: addBatch -> add_batch."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
