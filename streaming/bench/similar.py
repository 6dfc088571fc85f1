"""`scout bench similar`: the similarity index at 10k, 100k and 1M influencers.

Embeddings are sampled from a mixture fitted to reference embeddings (see ``embedding_source``);
queries are new influencers from the same mixture. For each size, both index kinds run through
``SimilarityIndex`` (the code the job and the service use):

- exact (``IndexIDMap2(IndexFlatIP)``): build time, upsert time, single-query latency, and the
  ground truth top-k of every query;
- HNSW: build time, upsert time, memory, then for each efSearch of the sweep the single-query
  latency p50/p99 and recall@k against the exact top-k. The chosen efSearch is the smallest that
  reaches the target recall.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from streaming.bench.report import RESULTS_DIR, BenchReport, emit

log = logging.getLogger(__name__)

DEFAULT_SIZES = "10000,100000,1000000"
DEFAULT_EF = "16,32,64,128,256"
GOAL_P99_MS = 5.0
GOAL_RECALL = 0.95


def _ids(n: int) -> list[str]:
    return [f"influencer{j}" for j in range(n)]


def _latencies_ms(index: Any, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[list[str]]]:
    """Single-query searches, one at a time, as the service runs them."""
    times, found = np.empty(len(queries)), []
    for j in range(len(queries)):
        start = time.perf_counter()
        row = index.search(queries[j : j + 1], k)[0]
        times[j] = (time.perf_counter() - start) * 1e3
        found.append([influencer for influencer, _ in row])
    return times, found


def _recall(found: list[list[str]], truth: list[list[str]], k: int) -> float:
    hits = sum(len(set(f[:k]) & set(t[:k])) for f, t in zip(found, truth, strict=True))
    return hits / (k * len(truth))


def _build(index: Any, vectors: np.ndarray) -> float:
    start = time.perf_counter()
    index.upsert(_ids(len(vectors)), vectors)
    return time.perf_counter() - start


def _upsert_ms(index: Any, fresh: np.ndarray, rng: np.random.Generator) -> float:
    """Replace ``len(fresh)`` random influencers' vectors in one call (a micro-batch's worth)."""
    who = rng.choice(len(index), len(fresh), replace=False)
    start = time.perf_counter()
    index.upsert([f"influencer{j}" for j in who], fresh)
    return (time.perf_counter() - start) * 1e3


def _drift_upsert_ms(index: Any, base: np.ndarray, count: int, rng: np.random.Generator) -> float:
    """Nudge ``count`` influencers' vectors by ~2 % (a new post among many) and upsert them in one call."""
    who = rng.choice(len(base), count, replace=False)
    scale = 0.02 * np.linalg.norm(base[who], axis=1, keepdims=True) / np.sqrt(base.shape[1])
    nudged = base[who] + rng.standard_normal((count, base.shape[1]), dtype=np.float32) * scale
    start = time.perf_counter()
    index.upsert([f"influencer{j}" for j in who], nudged)
    return (time.perf_counter() - start) * 1e3


def bench_size(
    n: int,
    base: np.ndarray,
    queries: np.ndarray,
    fresh: np.ndarray,
    k: int,
    hnsw: dict[str, int],
    ef_sweep: list[int],
    exact_latency_queries: int,
    rng: np.random.Generator,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from streaming.similarity import SimilarityIndex

    dim = base.shape[1]
    rows: list[dict[str, Any]] = []
    fig: dict[str, Any] = {}
    key = f"n{n}"

    log.info("%d influencers: exact index", n)
    exact = SimilarityIndex(dim, exact_max_size=n + len(fresh))
    build_s = _build(exact, base)
    truth = [[i for i, _ in row] for row in exact.search(queries, k)]  # batched: the ground truth
    lat, found = _latencies_ms(exact, queries[:exact_latency_queries], k)
    assert _recall(found, truth[:exact_latency_queries], k) > 0.999, "exact search disagrees with itself"
    memory = exact.memory_bytes() / 2**20
    drift_ms = _drift_upsert_ms(exact, base, len(fresh), rng)
    upsert_ms = _upsert_ms(exact, fresh, rng)
    fig |= {
        f"{key}_exact_build_s": build_s,
        f"{key}_exact_upsert_{len(fresh)}_ms": upsert_ms,
        f"{key}_exact_drift_upsert_{len(fresh)}_ms": drift_ms,
        f"{key}_exact_query_p50_ms": float(np.percentile(lat, 50)),
        f"{key}_exact_query_p99_ms": float(np.percentile(lat, 99)),
        f"{key}_exact_memory_mib": memory,
    }
    rows.append(
        {"influencers": n, "index": "exact", "ef_search": "-", "build_s": build_s, "upsert_ms": upsert_ms,
         "drift_upsert_ms": drift_ms, "p50_ms": fig[f"{key}_exact_query_p50_ms"],
         "p99_ms": fig[f"{key}_exact_query_p99_ms"], "recall@k": 1.0, "memory_mib": memory}
    )  # fmt: skip
    del exact

    log.info("%d influencers: HNSW index (M=%d, efConstruction=%d)", n, hnsw["m"], hnsw["ef_construction"])
    graph = SimilarityIndex(
        dim, exact_max_size=0, hnsw_m=hnsw["m"], hnsw_ef_construction=hnsw["ef_construction"]
    )
    build_s = _build(graph, base)
    memory = graph.memory_bytes() / 2**20
    sweep = []
    for ef in ef_sweep:
        graph.hnsw_ef_search = ef
        lat, found = _latencies_ms(graph, queries, k)
        sweep.append(
            (ef, float(np.percentile(lat, 50)), float(np.percentile(lat, 99)), _recall(found, truth, k))
        )
    chosen = next((s for s in sweep if s[3] >= GOAL_RECALL), max(sweep, key=lambda s: s[3]))
    graph.hnsw_ef_search = chosen[0]
    drift_ms = _drift_upsert_ms(graph, base, len(fresh), rng)
    upsert_ms = _upsert_ms(graph, fresh, rng)
    for ef, p50, p99, recall in sweep:
        rows.append(
            {"influencers": n, "index": "hnsw" + (" *" if ef == chosen[0] else ""), "ef_search": ef,
             "build_s": build_s, "upsert_ms": upsert_ms, "drift_upsert_ms": drift_ms, "p50_ms": p50,
             "p99_ms": p99, "recall@k": recall,
             "memory_mib": memory}
        )  # fmt: skip
        fig[f"{key}_hnsw_ef{ef}_query_p99_ms"] = p99
        fig[f"{key}_hnsw_ef{ef}_recall_at_{k}"] = recall
    fig |= {
        f"{key}_hnsw_build_s": build_s,
        f"{key}_hnsw_upsert_{len(fresh)}_ms": upsert_ms,
        f"{key}_hnsw_drift_upsert_{len(fresh)}_ms": drift_ms,
        f"{key}_hnsw_chosen": f"efSearch={chosen[0]}",
        f"{key}_hnsw_query_p50_ms": chosen[1],
        f"{key}_hnsw_query_p99_ms": chosen[2],
        f"{key}_hnsw_recall_at_{k}": chosen[3],
        f"{key}_hnsw_memory_mib": memory,
        f"{key}_exact_over_hnsw_p99_ratio": fig[f"{key}_exact_query_p99_ms"] / chosen[2],
    }
    return rows, fig


def _reference(
    model_dir: Path | None,
    dataset: Path | None,
    embeddings: Path | None,
    labels: Path | None,
    max_influencers: int,
    max_posts: int,
    dim: int,
    rng: np.random.Generator,
) -> Any:
    from streaming.bench import embedding_source as source

    if model_dir is not None:
        if dataset is None:
            raise typer.BadParameter("--model-dir needs --dataset: the influencers whose posts it pools")
        return source.model_reference(model_dir, dataset, max_influencers, max_posts)
    if embeddings is not None:
        return source.npy_reference(embeddings, labels)
    log.warning("no model or embeddings given: sampling from the synthetic stand-in, not a trained model")
    return source.synthetic_reference(dim, rng)


def run(
    sizes: list[int],
    ef_sweep: list[int],
    k: int = 10,
    queries: int = 1000,
    exact_latency_queries: int = 200,
    updates: int = 1000,
    hnsw_m: int = 32,
    hnsw_ef_construction: int = 64,
    model_dir: Path | None = None,
    dataset: Path | None = None,
    embeddings: Path | None = None,
    labels: Path | None = None,
    max_influencers: int = 2000,
    max_posts: int = 50,
    dim: int = 256,
    rank: int = 16,
    seed: int = 0,
    save_reference: Path | None = None,
) -> BenchReport:
    import faiss

    from streaming.bench import embedding_source as source

    rng = np.random.default_rng(seed)
    reference = _reference(model_dir, dataset, embeddings, labels, max_influencers, max_posts, dim, rng)
    if save_reference is not None:
        source.save_reference(reference, save_reference)
    mixture = source.fit_mixture(reference, rank)
    log.info(
        "mixture of %d categories fitted to %d %s embeddings",
        len(mixture.weights), len(reference.embeddings), reference.source,
    )  # fmt: skip
    query_vectors = source.sample(mixture, queries, rng)
    rows: list[dict[str, Any]] = []
    figures: dict[str, Any] = {
        "source": reference.source,
        "reference_influencers": len(reference.embeddings),
        "embedding_dims": mixture.dim,
        "mixture_categories_count": len(mixture.weights),
        "k": f"top-{k}",
        "hnsw_params": f"M={hnsw_m} efConstruction={hnsw_ef_construction}",
        "faiss_threads": faiss.omp_get_max_threads(),
        "timed_queries": queries,
    }
    for n in sizes:
        base = source.sample(mixture, n, rng)
        fresh = source.sample(mixture, min(updates, n), rng)
        size_rows, size_figures = bench_size(
            n, base, query_vectors, fresh, k, {"m": hnsw_m, "ef_construction": hnsw_ef_construction},
            ef_sweep, min(exact_latency_queries, queries), rng,
        )  # fmt: skip
        rows += size_rows
        figures |= size_figures
        del base
    largest = f"n{max(sizes)}"
    goal = (
        figures[f"{largest}_hnsw_query_p99_ms"] <= GOAL_P99_MS
        and figures[f"{largest}_hnsw_recall_at_{k}"] >= GOAL_RECALL
    )
    figures["goal_met"] = bool(goal)
    return BenchReport(
        name="similar",
        title=f"Similarity index, k={k}, {queries} single-query searches per row "
        f"({reference.source} embeddings)",
        rows=rows,
        figures=figures,
        notes=[
            f"hnsw: M={hnsw_m}, efConstruction={hnsw_ef_construction}; * = smallest efSearch with recall >= "
            f"{GOAL_RECALL} (or the best recall); recall against exact search on the same vectors",
            f"upsert_ms: {updates} influencers get unrelated new vectors in one call (HNSW: stale entries + "
            f"new nodes); drift_upsert_ms: {updates} vectors nudged ~2 % (HNSW: overwritten in place); "
            "memory: FAISS arrays only",
            f"goal at {max(sizes):,}: p99 <= {GOAL_P99_MS} ms with recall@{k} >= {GOAL_RECALL}: {goal}",
        ],
    )


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def command(
    sizes: Annotated[str, typer.Option(help="Index sizes, comma-separated.")] = DEFAULT_SIZES,
    ef_search: Annotated[
        str, typer.Option(help="HNSW efSearch values to sweep, comma-separated.")
    ] = DEFAULT_EF,
    k: Annotated[int, typer.Option(help="Neighbours per query.")] = 10,
    queries: Annotated[int, typer.Option(help="Timed single-query searches per index.")] = 1000,
    updates: Annotated[int, typer.Option(help="Influencers replaced in the timed upsert.")] = 1000,
    hnsw_m: Annotated[int, typer.Option(help="HNSW graph degree M.")] = 32,
    hnsw_ef_construction: Annotated[int, typer.Option(help="HNSW efConstruction.")] = 64,
    model_dir: Annotated[Path | None, typer.Option(help="Trained model folder (with --dataset).")] = None,
    dataset: Annotated[Path | None, typer.Option(help="Dataset whose influencers the model pools.")] = None,
    embeddings: Annotated[
        Path | None, typer.Option(help="Saved (n, H) .npy of influencer embeddings.")
    ] = None,
    labels: Annotated[Path | None, typer.Option(help="(n,) .npy of their categories.")] = None,
    max_influencers: Annotated[int, typer.Option(help="Influencers pooled through the model.")] = 2000,
    max_posts: Annotated[
        int, typer.Option(help="Latest posts per influencer pooled through the model.")
    ] = 50,
    save_reference: Annotated[
        Path | None, typer.Option(help="Save the reference embeddings (and .labels.npy) for --embeddings.")
    ] = None,
    dim: Annotated[int, typer.Option(help="Embedding size of the synthetic stand-in.")] = 256,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on the last line.")] = False,
    results_dir: Annotated[Path, typer.Option(help="Where <name>.json is written.")] = RESULTS_DIR,
) -> None:
    """Build time, upsert time, query p50/p99, recall@k and memory of the similarity index.

    Examples:
      scout bench similar --model-dir build/model --dataset data/world --save-reference build/ref.npy
      scout bench similar --embeddings build/ref.npy --labels build/ref.labels.npy --json
    """
    report = run(
        _ints(sizes), _ints(ef_search), k, queries, updates=updates, hnsw_m=hnsw_m,
        hnsw_ef_construction=hnsw_ef_construction, model_dir=model_dir, dataset=dataset,
        embeddings=embeddings, labels=labels, max_influencers=max_influencers, max_posts=max_posts,
        dim=dim, seed=seed, save_reference=save_reference,
    )  # fmt: skip
    emit(report, as_json, results_dir)


if __name__ == "__main__":  # python -m streaming.bench.similar (where the scout entry point is not installed)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    typer.run(command)
