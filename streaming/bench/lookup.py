"""`scout bench lookup`: look-up latency of the service over loopback HTTP, a bounded run.

A fixed plan of requests (one profile, its similar influencers, a name-prefix search, a topic
search by words, lookalikes of a roster of three, in a fixed mix) is sent by a few client threads
with keep-alive connections until every request is done or the time limit passes, whichever comes
first. Latency is measured at the client, per request kind.

Without ``--url`` the service runs in a child process of its own (so client and server do not share
an interpreter) over ``--influencers`` synthetic profiles in clustered directions, with text
vectors in the space of the model it loads (``--model-dir``, whose text encoder encodes each topic
query; by default a next-to-free model built for the run, streaming.bench.cheap_model) and follower
counts; the look-ups by posts or roster are not rate-limited there. With ``--url`` it measures a
running service (e.g. the demo's) on the names it lists.

    scout bench lookup --influencers 10000 --requests 3000 --concurrency 4 --json
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

import numpy as np
import typer

from streaming.bench.report import RESULTS_DIR, BenchReport, emit
from streaming.errors import ServiceError
from streaming.infra.wait import http_ok, wait_until

log = logging.getLogger(__name__)

MIX = (("profile", 0.35), ("similar", 0.2), ("search", 0.15), ("topic", 0.15), ("roster", 0.15))
MODEL_VERSION = "bench"
ROSTER_SIZE = 3
Request = tuple[str, str, dict[str, Any] | None]  # kind, path, JSON body (POST) or None (GET)


def plan(names: list[str], requests: int, k: int, rng: np.random.Generator) -> list[Request]:
    """``requests`` (kind, path, body) in the fixed mix over random names and topic words."""
    from training.synth.vocab import WORDS

    vocabulary = sorted({word for words in WORDS.values() for word in words})
    kinds = rng.choice([kind for kind, _ in MIX], size=requests, p=[share for _, share in MIX])
    who = rng.integers(0, len(names), size=(requests, ROSTER_SIZE))
    words = rng.integers(0, len(vocabulary), size=(requests, 3))
    out: list[Request] = []
    for kind, picks, chosen in zip(kinds, who, words, strict=True):
        name = names[picks[0]]
        if kind == "profile":
            out.append(("profile", f"/api/influencers/{quote(name, safe='')}", None))
        elif kind == "similar":
            out.append(("similar", f"/api/influencers/{quote(name, safe='')}/similar?k={k}", None))
        elif kind == "search":
            out.append(("search", f"/api/influencers?q={quote(name[:3], safe='')}&limit=20", None))
        elif kind == "topic":
            query = " ".join(vocabulary[i] for i in chosen)
            out.append(("topic", f"/api/search?q={quote(query, safe='')}&k={k}", None))
        else:
            out.append(("roster", "/api/similar", {"roster": [names[i] for i in picks], "k": k}))
    return out


def synthetic_profiles(
    n: int, dim: int, seed: int, text_dim: int = 0, model_version: str = MODEL_VERSION, start: int = 0
) -> list[dict[str, Any]]:
    """n profile events in 9 clustered directions, as the job would write them (with text vectors
    of ``text_dim`` clustered the same way when it is above 0), named from number ``start`` on."""
    from training.dataset.categories import CATEGORIES

    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((len(CATEGORIES), dim))
    text_centres = rng.standard_normal((len(CATEGORIES), text_dim))
    rng = np.random.default_rng((seed, start))  # the same clusters for every chunk, fresh draws in each
    events = []
    for j in range(start, start + n):
        c = int(rng.integers(len(CATEGORIES)))
        probs = rng.dirichlet(np.ones(len(CATEGORIES)) * 0.3)
        posts = [
            {"post_id": f"{j}-{i}", "score": 1.0 - i, "weight": 0.3, "caption": "caption", "image_uri": None}
            for i in range(5)
        ]
        events.append({
            "schema": 1, "influencer": f"{CATEGORIES[c]}_{j:07d}",
            "category": CATEGORIES[int(np.argmax(probs))],
            "probabilities": {label: float(p) for label, p in zip(CATEGORIES, probs, strict=True)},
            "embedding": (centres[c] + 0.5 * rng.standard_normal(dim)).tolist(), "post_count": 5 + j % 200,
            "top_posts": posts, "model_version": model_version, "event_time": "2024-05-01T12:00:00Z",
            "processing_time": "2024-05-01T12:00:05Z", "batch_id": 0,
            "engagement": {
                "likes_mean": float(rng.integers(10, 5000)), "comments_mean": float(rng.integers(0, 90)),
                "posts_per_week": float(rng.uniform(0.5, 9)), "first_post": "2024-01-01T00:00:00.000Z",
                "last_post": "2024-05-01T12:00:00.000Z",
            },
        })  # fmt: skip
        if text_dim:
            events[-1]["text_vector"] = (text_centres[c] + 0.5 * rng.standard_normal(text_dim)).tolist()
    return events


def _serve_synthetic(n: int, seed: int, port: int, model_dir: str | None) -> None:  # child process
    import tempfile
    from pathlib import Path

    import uvicorn

    from streaming.bench.cheap_model import build_cheap_model
    from streaming.config import load_settings
    from streaming.service.app import create_app
    from streaming.service.store import ProfileStore, profile_from_event
    from streaming.similarity.index import SimilarityIndex
    from streaming.text_space import text_dim
    from training.model_dir import load_model

    if model_dir is None:
        model_dir = str(Path(tempfile.mkdtemp(prefix="lookup-bench-")) / "model")
        build_cheap_model(Path(model_dir))
    model = load_model(model_dir, device="cpu")
    overrides = {"service.materialise": False, "service.load_model": False, "service.similar_rate_per_s": 1e9,
                 "service.similar_burst": 1_000_000}  # fmt: skip
    settings = load_settings(None, overrides, environ={})
    store = ProfileStore(lambda d: SimilarityIndex.from_settings(d, settings.similarity))
    rng = np.random.default_rng(seed)
    for start in range(0, n, 5000):  # in chunks: 100,000 events as JSON-like lists would take gigabytes
        chunk = synthetic_profiles(
            min(5000, n - start), model.hidden_dim, seed, text_dim(model), model.version, start
        )
        for event in chunk:
            store.put(profile_from_event(event))
            store.set_followers(event["influencer"], int(rng.integers(100, 2_000_000)))
    uvicorn.run(
        create_app(settings, store=store, model=model), host="127.0.0.1", port=port, log_level="warning",
        access_log=False,
    )  # fmt: skip


def _wait_ready(url: str, timeout_s: float, alive: Callable[[], bool]) -> None:
    wait_until(
        lambda: http_ok(f"{url}/health/ready"),
        timeout_s=timeout_s,
        alive=alive,
        stopped=lambda: ServiceError("the benchmark's service process exited while starting"),
        timed_out=lambda: ServiceError(f"the service at {url} was not ready within {timeout_s:.0f}s"),
    )


def _names(url: str, limit: int) -> list[str]:
    import httpx

    names: list[str] = []
    with httpx.Client(base_url=url, timeout=10) as client:
        while len(names) < limit:
            page = client.get(
                "/api/influencers",
                params={"sort": "name", "order": "asc", "offset": len(names), "limit": 200},
            ).json()
            names += [item["influencer"] for item in page["items"]]
            if not page["items"] or len(names) >= page["total"]:
                break
    return names[:limit]


def load(
    url: str, requests: list[Request], concurrency: int, time_limit_s: float
) -> tuple[dict[str, list[float]], int, float]:
    """Send the plan with ``concurrency`` threads; (latencies in ms by kind, errors, wall seconds)."""
    import httpx

    latencies: dict[str, list[float]] = {kind: [] for kind, _ in MIX}
    errors = 0
    next_index = 0
    lock = threading.Lock()
    deadline = time.monotonic() + time_limit_s

    def worker() -> None:
        nonlocal next_index, errors
        with httpx.Client(base_url=url, timeout=10) as client:
            while time.monotonic() < deadline:
                with lock:
                    if next_index >= len(requests):
                        return
                    kind, path, body = requests[next_index]
                    next_index += 1
                start = time.perf_counter()
                try:
                    response = client.get(path) if body is None else client.post(path, json=body)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed_ms = (time.perf_counter() - start) * 1e3
                with lock:
                    if ok:
                        latencies[kind].append(elapsed_ms)
                    else:
                        errors += 1

    threads = [threading.Thread(target=worker, name=f"lookup-client-{i}") for i in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - start


def run(
    influencers: int = 10_000,
    requests: int = 3000,
    concurrency: int = 4,
    time_limit_s: float = 60.0,
    k: int = 10,
    url: str | None = None,
    port: int = 0,
    seed: int = 0,
    model_dir: str | None = None,
) -> BenchReport:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    rng = np.random.default_rng(seed)
    server = None
    if url is None:
        from streaming.infra.kafka_admin import port_open

        port = port or _free_port()
        assert not port_open("127.0.0.1", port), f"port {port} is taken"
        server = multiprocessing.get_context("spawn").Process(
            target=_serve_synthetic,
            args=(influencers, seed, port, model_dir),
            name="lookup-bench-service",
            daemon=True,
        )
        server.start()
        url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, 1800, (lambda: server.is_alive()) if server is not None else (lambda: True))
        names = _names(url, 5000)
        if not names:
            raise RuntimeError(f"the service at {url} holds no influencers to look up")
        latencies, errors, wall_s = load(url, plan(names, requests, k, rng), concurrency, time_limit_s)
    finally:
        if server is not None:
            server.terminate()
            server.join(10)
    done = sum(len(values) for values in latencies.values())
    every = np.concatenate([np.asarray(v) for v in latencies.values()]) if done else np.zeros(1)
    figures: dict[str, Any] = {
        "target": url if server is None else "child process, synthetic profiles",
        "served_influencers": len(names) if server is None else influencers,
        "planned_requests_count": requests,
        "completed_requests_count": done,
        "errors_count": errors,
        "concurrency_threads": concurrency,
        "wall_s": wall_s,
        "throughput_per_s": done / wall_s if wall_s > 0 else 0.0,
        "time_limit_reached": done + errors < requests,
        "overall_p50_ms": float(np.percentile(every, 50)),
        "overall_p99_ms": float(np.percentile(every, 99)),
    }
    rows = []
    for kind, values in latencies.items():
        if values:
            p50, p99 = float(np.percentile(values, 50)), float(np.percentile(values, 99))
            figures |= {f"{kind}_p50_ms": p50, f"{kind}_p99_ms": p99}
            rows.append(
                {
                    "request": kind,
                    "count": len(values),
                    "p50_ms": p50,
                    "p99_ms": p99,
                    "mean_ms": float(np.mean(values)),
                    "max_ms": float(np.max(values)),
                }
            )
    rows.append(
        {
            "request": "all",
            "count": done,
            "p50_ms": figures["overall_p50_ms"],
            "p99_ms": figures["overall_p99_ms"],
            "mean_ms": float(np.mean(every)),
            "max_ms": float(np.max(every)),
        }
    )
    return BenchReport(
        name="lookup",
        title=f"Look-up latency over loopback HTTP, {concurrency} clients, keep-alive ({figures['target']})",
        rows=rows,
        figures=figures,
        notes=[
            f"mix: {', '.join(f'{kind} {share:.0%}' for kind, share in MIX)}; similar, topic and roster "
            f"with k={k} (topic: three random words of the world's vocabulary through the model's text "
            f"encoder; roster: {ROSTER_SIZE} random names); "
            f"{done} of {requests} requests in {wall_s:.1f}s ({figures['throughput_per_s']:.0f}/s), "
            f"{errors} errors",
            "latency measured at the client: request sent to response read, HTTP parsing included",
        ],
    )


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command(
    influencers: Annotated[int, typer.Option(help="Synthetic profiles served (without --url).")] = 10_000,
    requests: Annotated[int, typer.Option(help="Requests in the plan.")] = 3000,
    concurrency: Annotated[int, typer.Option(help="Client threads.")] = 4,
    time_limit: Annotated[float, typer.Option(help="Stop sending after this many seconds.")] = 60.0,
    k: Annotated[int, typer.Option(help="k of the similar look-ups.")] = 10,
    url: Annotated[str | None, typer.Option(help="Measure a running service instead.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    model_dir: Annotated[
        str | None, typer.Option(help="Model folder the child service loads (default: a next-to-free one).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object last.")] = False,
) -> None:
    """Look-up latency p50/p99 of the service on loopback, a bounded run.

    Example: scout bench lookup --influencers 10000 --requests 3000 --concurrency 4 --json
    """
    report = run(influencers, requests, concurrency, time_limit, k, url=url, seed=seed, model_dir=model_dir)
    emit(report, as_json, RESULTS_DIR)
