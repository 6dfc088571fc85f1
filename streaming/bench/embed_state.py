"""The batched incremental state update on a device vs the CPU, for ``scout bench embed``."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import torch

log = logging.getLogger(__name__)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def state_update(device: torch.device, n_posts: int, n_influencers: int, hidden: int) -> dict[str, Any]:
    """The batched segmented online-softmax update (``streaming.state.segmented``) of ``n_posts``
    posts across ``n_influencers`` influencers, half of whom have history, on ``device`` vs the CPU;
    the two results are compared (n and m exactly, Z and S relatively)."""
    from streaming.state.segmented import SegmentedStates, segmented_update

    gen = torch.Generator().manual_seed(0)

    def posts(count: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        seg = torch.randint(0, n_influencers, (count,), generator=gen)  # (B,)
        scores = 2.0 * torch.randn(count, generator=gen)  # (B,) float32, as the post step gives
        h = torch.rand(count, hidden, generator=gen)  # (B, H) float32, non-negative like ReLU output
        return seg, scores, h

    history = posts(max(1, n_posts // 4))
    history = (history[0] % max(1, n_influencers // 2), history[1], history[2])  # the first half have history
    prior = segmented_update(*history, SegmentedStates.empty(n_influencers, hidden))
    batch = posts(n_posts)
    segmented_update(*(t[:1000] for t in batch), prior)  # warm-up (allocator, threads)
    cpu_times = []
    for _ in range(2):
        started = time.perf_counter()
        on_cpu = segmented_update(*batch, prior)
        cpu_times.append(time.perf_counter() - started)
    cpu_s = min(cpu_times)
    out: dict[str, Any] = {
        "state_update_posts": n_posts,
        "state_update_influencers": n_influencers,
        "state_update_hidden_dims": hidden,
        "state_update_cpu_ms": round(cpu_s * 1e3, 1),
    }
    prior_dev = SegmentedStates(*(t.to(device) for t in (prior.n, prior.m, prior.z, prior.s)))
    _sync(device)
    started = time.perf_counter()
    batch_dev = tuple(t.to(device) for t in batch)
    segmented_update(*batch_dev, prior_dev)
    _sync(device)
    out["state_update_device_with_copy_ms"] = round((time.perf_counter() - started) * 1e3, 2)
    times = []
    for _ in range(5):
        _sync(device)
        started = time.perf_counter()
        on_dev = segmented_update(*batch_dev, prior_dev)
        _sync(device)
        times.append(time.perf_counter() - started)
    dev_s = float(np.median(times))
    out["state_update_device_ms"] = round(dev_s * 1e3, 2)
    out["state_update_device_posts_per_s"] = round(n_posts / dev_s)
    out["state_update_device_over_cpu_ratio"] = round(cpu_s / dev_s, 1)
    n, m, z, s = on_dev.to_numpy()
    n_ref, m_ref, z_ref, s_ref = on_cpu.to_numpy()
    out["state_update_n_m_equal"] = bool(np.array_equal(n, n_ref) and np.array_equal(m, m_ref))
    out["state_update_z_rel_diff_ratio"] = float(f"{np.linalg.norm(z - z_ref) / np.linalg.norm(z_ref):.3g}")
    out["state_update_s_rel_diff_ratio"] = float(f"{np.linalg.norm(s - s_ref) / np.linalg.norm(s_ref):.3g}")
    log.info("state update: %s", out)
    return out
