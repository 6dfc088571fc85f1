"""`scout bench state`: what the incremental attention state costs per new post.

Three measurements, each checked against the reference it is compared with:

1. per call: ``online_softmax.update`` with one new post (top-k kept) against ``recompute`` over the
   influencer's whole history (``--history`` posts + the new one), one influencer at a time, as the
   streaming job's per-influencer step runs. Python call overhead is part of both.
2. vectorised: the same comparison for a batch of influencers at once in torch (one new post each),
   where per-call overhead is amortised and the O(H) vs O(n H) work shows.
3. segmented: ``--posts`` posts over ``--influencers`` influencers folded in by the segmented torch
   update against a Python loop of numpy ``update`` calls (both from the same prior states).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from streaming.bench.report import RESULTS_DIR, BenchReport, emit

log = logging.getLogger(__name__)


def best_mean_s(
    fn: Callable[[], object], number: int, repeat: int = 5, sync: Callable[[], None] | None = None
) -> float:
    """Best over ``repeat`` runs of the mean seconds per call over ``number`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        if sync is not None:
            sync()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def per_call(history: int, dim: int, rng: np.random.Generator, calls: int) -> dict[str, Any]:
    from streaming.state import PostMeta, embedding, recompute, to_row, update

    scores = rng.normal(0, 2, history + 1)
    h = np.maximum(rng.normal(size=(history + 1, dim)), 0)  # (history + 1, H)
    ts = 1.7e9 + np.sort(rng.uniform(0, 3e7, history + 1))
    metas = [PostMeta(f"p{j}", f"img/{j}.jpg", "caption " * 30) for j in range(history + 1)]
    state = update(None, scores[:history], h[:history], ts[:history], metas[:history], None, 5)
    new = (scores[history:], h[history:], ts[history:], metas[history:])

    def incremental() -> object:
        return update(state, *new, None, 5)

    def full() -> object:
        return recompute(scores, h)

    diff = float(np.max(np.abs(embedding(incremental()) - full())))  # type: ignore[arg-type]
    inc_s, rec_s = best_mean_s(incremental, calls), best_mean_s(full, calls)
    # What each approach must keep per influencer: the state (n, m, Z, S, top-k) vs every post's
    # h (float32, as the model emits it) and score.
    row = to_row(state)
    state_bytes = 8 * (3 + dim) + sum(
        16 + len(p.post_id) + len(p.caption) + len(p.image_uri or "") for p in state.top
    )
    return {
        "incremental_us": inc_s * 1e6,
        "recompute_us": rec_s * 1e6,
        "abs_diff": diff,
        "state_bytes": state_bytes + len(row["model_version"]),
        "history_bytes": history * (dim + 1) * 4,
    }


def vectorised(
    history: int, dim: int, influencers: int, rng: np.random.Generator, device: str
) -> dict[str, Any]:
    import torch

    from streaming.state.segmented import SegmentedStates, embeddings, segmented_update

    g = influencers
    sync = torch.cuda.synchronize if device == "cuda" else None
    f64 = {"dtype": torch.float64, "device": device}
    all_s = torch.from_numpy(rng.normal(0, 2, (g, history + 1))).to(**f64)  # (G, history + 1)
    all_h = torch.from_numpy(np.maximum(rng.normal(size=(g, history + 1, dim)), 0)).to(**f64)  # (G, n, H)
    rows = torch.arange(g, device=device)
    prior = SegmentedStates.empty(g, dim, device)
    for j in range(history):
        prior = segmented_update(rows, all_s[:, j], all_h[:, j], prior)

    def incremental() -> object:
        return segmented_update(rows, all_s[:, history], all_h[:, history], prior)

    def full() -> torch.Tensor:
        w = torch.softmax(all_s, dim=1)  # (G, n)
        return torch.einsum("gn,gnh->gh", w, all_h)  # (G, H)

    diff = float((embeddings(incremental()) - full()).abs().max())  # type: ignore[arg-type]
    inc_s = best_mean_s(incremental, 20, sync=sync) / g
    rec_s = best_mean_s(full, 5, sync=sync) / g
    return {"incremental_us": inc_s * 1e6, "recompute_us": rec_s * 1e6, "abs_diff": diff}


def _priors(influencers: int, dim: int, rng: np.random.Generator) -> list[Any]:
    """Prior states with history: any m, any Z > 0 and S = Z * (a pooled vector) is a valid state."""
    from streaming.state import AttentionState

    m = rng.normal(0, 2, influencers)
    z = rng.uniform(1, 50, influencers)
    pooled = rng.random((influencers, dim))
    n = rng.integers(1, 300, influencers)
    return [AttentionState(int(n[i]), float(m[i]), float(z[i]), z[i] * pooled[i]) for i in range(influencers)]


def segmented_vs_loop(
    posts: int, influencers: int, dim: int, rng: np.random.Generator, devices: list[str]
) -> dict[str, Any]:
    import torch

    from streaming.state import update
    from streaming.state.segmented import SegmentedStates, segmented_update

    seg = rng.integers(0, influencers, posts)
    scores = rng.normal(0, 2, posts)
    h = rng.random((posts, dim), dtype=np.float32)  # (B, H) as the model emits it
    priors = _priors(influencers, dim, rng)

    start = time.perf_counter()
    order = np.argsort(seg, kind="stable")
    bounds = np.searchsorted(seg[order], np.arange(influencers + 1))
    s_sorted, h_sorted = scores[order], h[order]
    looped = [
        update(
            priors[g],
            s_sorted[bounds[g] : bounds[g + 1]],
            h_sorted[bounds[g] : bounds[g + 1]],
            None,
            None,
            None,
            0,
        )
        for g in range(influencers)
    ]
    loop_s = time.perf_counter() - start
    del s_sorted, h_sorted
    want_e = np.stack([st.s / st.z for st in looped])  # (G, H)
    want_m = np.array([st.m for st in looped])
    want_n = np.array([st.n for st in looped])

    out: dict[str, Any] = {"numpy_loop_s": loop_s}
    seg_t, scores_t, h_t = torch.from_numpy(seg), torch.from_numpy(scores), torch.from_numpy(h)
    for device in devices:
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
        start = time.perf_counter()
        prior = SegmentedStates.stack(priors, dim, device)
        sync()
        out[f"{device}_stack_s"] = time.perf_counter() - start
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            got = segmented_update(seg_t, scores_t, h_t, prior)
            sync()
            runs.append(time.perf_counter() - start)
        out[f"{device}_segmented_s"] = min(runs)
        n, m, z, s = got.to_numpy()
        out[f"{device}_abs_diff"] = float(np.max(np.abs(s / z[:, None] - want_e)))
        out[f"{device}_equal"] = bool(np.array_equal(m, want_m) and np.array_equal(n, want_n))
        if device == "cuda":  # h already resident on the device (as when the embed stage ran there)
            on_device = (seg_t.to(device), scores_t.to(device), h_t.to(device))
            resident = functools.partial(segmented_update, *on_device, prior)
            out["cuda_resident_segmented_s"] = best_mean_s(resident, 1, repeat=3, sync=sync)
        del prior, got
    return out


def run(
    history: int = 300,
    dim: int = 256,
    posts: int = 1_000_000,
    influencers: int = 100_000,
    batch_influencers: int = 500,
    device: str = "cpu",
    seed: int = 0,
    calls: int = 2000,
    threads: int | None = None,
) -> BenchReport:
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    devices = ["cpu"]
    if device in ("cuda", "auto") and torch.cuda.is_available():
        devices.append("cuda")
    elif device == "cuda":
        raise typer.BadParameter("--device cuda asked for, but torch sees no CUDA device")
    log.info("per-call update vs recompute over %d posts (H=%d)", history, dim)
    call = per_call(history, dim, rng, calls)
    log.info("vectorised over %d influencers on %s", batch_influencers, devices[-1])
    vec = vectorised(history, dim, batch_influencers, rng, devices[-1])
    log.info(
        "segmented update: %d posts over %d influencers on %s vs a numpy loop", posts, influencers, devices
    )
    seg = segmented_vs_loop(posts, influencers, dim, rng, devices)

    tol = 1e-9
    checked = call["abs_diff"] <= tol and vec["abs_diff"] <= tol
    checked = checked and all(seg[f"{d}_abs_diff"] <= tol and seg[f"{d}_equal"] for d in devices)
    figures: dict[str, Any] = {
        "device": devices[-1],
        "torch_threads": torch.get_num_threads(),
        "history_posts": history,
        "embedding_dims": dim,
        "per_call_incremental_us": call["incremental_us"],
        "per_call_recompute_us": call["recompute_us"],
        "per_call_recompute_over_incremental_ratio": call["recompute_us"] / call["incremental_us"],
        "state_per_influencer_bytes": call["state_bytes"],
        "history_per_influencer_bytes": call["history_bytes"],
        "history_over_state_bytes_ratio": call["history_bytes"] / call["state_bytes"],
        "vectorised_influencers": batch_influencers,
        "vectorised_incremental_us": vec["incremental_us"],
        "vectorised_recompute_us": vec["recompute_us"],
        "vectorised_recompute_over_incremental_ratio": vec["recompute_us"] / vec["incremental_us"],
        "segmented_posts": posts,
        "segmented_influencers": influencers,
        "numpy_loop_s": seg["numpy_loop_s"],
    }
    rows = [
        {"measure": f"per call, 1 new post vs {history + 1}-post recompute",
         "incremental_us": call["incremental_us"], "recompute_us": call["recompute_us"],
         "ratio": figures["per_call_recompute_over_incremental_ratio"]},
        {"measure": f"vectorised ({devices[-1]}, {batch_influencers} influencers), per post",
         "incremental_us": vec["incremental_us"], "recompute_us": vec["recompute_us"],
         "ratio": figures["vectorised_recompute_over_incremental_ratio"]},
    ]  # fmt: skip
    for d in devices:
        figures[f"segmented_{d}_s"] = seg[f"{d}_segmented_s"]
        figures[f"segmented_{d}_stack_s"] = seg[f"{d}_stack_s"]
        figures[f"numpy_loop_over_segmented_{d}_ratio"] = seg["numpy_loop_s"] / seg[f"{d}_segmented_s"]
        figures[f"segmented_{d}_max_abs_diff"] = seg[f"{d}_abs_diff"]
        figures[f"segmented_{d}_posts_per_s"] = posts / seg[f"{d}_segmented_s"]
        rows.append(
            {"measure": f"segmented {d}: {posts:,} posts / {influencers:,} influencers", "incremental_us":
             seg[f"{d}_segmented_s"] * 1e6 / posts, "recompute_us": float("nan"),
             "ratio": figures[f"numpy_loop_over_segmented_{d}_ratio"]}
        )  # fmt: skip
    if "cuda_resident_segmented_s" in seg:
        figures["segmented_cuda_resident_s"] = seg["cuda_resident_segmented_s"]
    if "cuda" in devices:
        figures["gpu"] = torch.cuda.get_device_name()
    figures["checked_equal"] = bool(checked)
    return BenchReport(
        name="state",
        title="Incremental attention state vs recomputation "
        "(times per new post; ratio = recompute / incremental)",
        rows=rows,
        figures=figures,
        notes=[
            f"kept per influencer: state {call['state_bytes']:,} bytes vs {history}-post history "
            f"{call['history_bytes']:,} bytes (float32 h + score)",
            f"numpy loop of update() over {influencers:,} influencers: {seg['numpy_loop_s']:.2f} s "
            "(the segmented rows' ratio is loop time / segmented time)",
            f"all results checked equal to their reference (max abs diff <= {tol:g}): {checked}",
        ],
    )


def command(
    history: Annotated[int, typer.Option(help="Posts of history the recomputation pools over.")] = 300,
    dim: Annotated[int, typer.Option(help="Embedding size H.")] = 256,
    posts: Annotated[int, typer.Option(help="Posts in the segmented batch.")] = 1_000_000,
    influencers: Annotated[int, typer.Option(help="Influencers the segmented batch spreads over.")] = 100_000,
    batch_influencers: Annotated[int, typer.Option(help="Influencers in the vectorised comparison.")] = 500,
    device: Annotated[str, typer.Option(help="cpu, cuda, or auto (adds CUDA when present).")] = "cpu",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    calls: Annotated[int, typer.Option(help="Timed calls per per-call measurement (best of 5 runs).")] = 2000,
    threads: Annotated[
        int | None, typer.Option(help="torch CPU threads (default: torch's own choice).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on the last line.")] = False,
    results_dir: Annotated[Path, typer.Option(help="Where <name>.json is written.")] = RESULTS_DIR,
) -> None:
    """Cost per new post of the incremental attention update vs recomputing attention.

    Example: scout bench state --posts 200000 --influencers 20000 --json
    """
    report = run(history, dim, posts, influencers, batch_influencers, device, seed, calls, threads)
    emit(report, as_json, results_dir)
    if not report.figures["checked_equal"]:
        raise typer.Exit(1)


if __name__ == "__main__":  # python -m streaming.bench.state (where the scout entry point is not installed)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    typer.run(command)
