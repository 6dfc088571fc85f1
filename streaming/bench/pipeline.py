"""`scout bench pipeline`: the real job (Kafka -> parse -> embed -> state -> sinks) with encoders that
cost next to nothing, on worlds of 1,000 to 100,000 influencers.

The model folder comes from streaming.bench.cheap_model (small random towers), so what is measured is
everything around the encoders. Posts are synthesised in memory: small inline JPEGs, a short caption,
each post's influencer drawn uniformly from the world, so that a micro-batch touches mostly distinct
influencers (the hard case for a per-influencer state). Per world size:

1. warm-up: ``--warmup-posts`` posts, streamed until folded (every Python worker has loaded the model);
2. throughput: ``--posts`` posts sent as fast as the broker takes them; posts/s from the first send to
   the commit that folds the last one (pipeline_posts_per_s);
3. the state stage's own timings over the measured batches, from the job's commit reports: posts
   folded per second of state-stage time and ms per updated influencer.

It starts a broker when none answers at kafka.bootstrap_servers; topics and checkpoints are its own.

    scout bench pipeline --influencers 100000 --json
"""

from __future__ import annotations

import base64
import io
import logging
import random
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from streaming.bench.report import RESULTS_DIR, BenchReport, emit
from streaming.bench.run_settings import run_settings
from streaming.bench.stream_latency import batch_breakdown_ms, phase_key
from streaming.infra.wait import wait_until

log = logging.getLogger(__name__)

DEFAULT_SIZES = (1_000, 10_000, 100_000)
_WORDS = ("sunset", "recipe", "workout", "sofa", "puppy", "beach", "lipstick", "outfit", "kids", "trail")


def _jpegs(count: int, seed: int) -> list[str]:
    """``count`` distinct 16 x 16 JPEGs, base64."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        pixels = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=70)
        out.append(base64.b64encode(buffer.getvalue()).decode("ascii"))
    return out


def synthetic_events(influencers: int, posts: int, seed: int, start: int = 0) -> list[tuple[bytes, bytes]]:
    """(key, value) post events; post ``start + i`` belongs to a uniformly drawn influencer."""
    from streaming.events import SCHEMA_VERSION, utc_timestamp
    from streaming.replay import encode

    rng = random.Random(seed)
    images = _jpegs(64, seed)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    for i in range(start, start + posts):
        name = f"bench_{rng.randrange(influencers):06d}"
        event = {
            "schema": SCHEMA_VERSION,
            "post_id": f"p{i:09d}",
            "influencer": name,
            "ts": utc_timestamp(t0 + timedelta(seconds=i)),
            "caption": " ".join(rng.choices(_WORDS, k=6)),
            "hashtags": rng.sample(_WORDS, 2),
            "usertags": [],
            "image_b64": rng.choice(images),
            "likes": rng.randrange(1000),
            "comments": rng.randrange(100),
        }
        out.append((name.encode(), encode(event)))
    return out


class _Commits:
    """The job's commit reports (called on the driver's foreachBatch thread)."""

    def __init__(self) -> None:
        self.reports: list[Any] = []
        self.lock = threading.Lock()

    def __call__(self, report: Any) -> None:
        with self.lock:
            self.reports.append((time.monotonic(), report))

    def posts(self) -> int:
        with self.lock:
            return sum(r.posts for _, r in self.reports)

    def wait(self, total: int, timeout_s: float) -> float:
        wait_until(
            lambda: self.posts() >= total,
            timeout_s=timeout_s,
            interval_s=0.02,
            timed_out=lambda: TimeoutError(f"{self.posts()} of {total} posts folded in {timeout_s:.0f}s"),
        )
        with self.lock:
            return self.reports[-1][0]

    def since(self, count: int) -> list[Any]:
        with self.lock:
            return [r for _, r in self.reports[count:]]


def _send(settings: Any, records: list[tuple[bytes, bytes]]) -> None:
    from streaming.infra.kafka_admin import produce

    produce(settings.kafka.bootstrap_servers, settings.kafka.topics.posts, records)


def measure(settings: Any, spark: Any, model_dir: Path, influencers: int, posts: int, warmup: int,
            timeout_s: float) -> dict[str, float]:  # fmt: skip
    """One world size: the figures of that run."""
    from streaming.job.runner import StreamJob

    work = Path(tempfile.mkdtemp(prefix="scout-bench-pipeline-"))
    bench = run_settings(settings, "bench-pipeline", work / "checkpoint", model_dir=model_dir)
    commits = _Commits()
    job = StreamJob(bench, spark, on_commit=commits)
    job.start()
    try:
        _send(bench, synthetic_events(influencers, warmup, seed=influencers))
        commits.wait(warmup, timeout_s)
        measured_from = len(commits.reports)
        records = synthetic_events(influencers, posts, seed=influencers + 1, start=warmup)
        started = time.monotonic()
        _send(bench, records)
        done = commits.wait(warmup + posts, timeout_s)
        reports = commits.since(measured_from)
        progress = [p for p in job.query.recentProgress if p["numInputRows"]][-len(reports) :]
    finally:
        job.stop()
    state_s = sum(r.state_seconds for r in reports)
    updated = sum(r.influencers for r in reports)
    folded = sum(r.posts for r in reports)
    return {
        "pipeline_posts_per_s": posts / (done - started),
        "state_stage_posts_per_s": folded / state_s if state_s else float("nan"),
        "state_stage_ms_per_influencer": 1000.0 * state_s / updated if updated else float("nan"),
        "batch_count": len(reports),
        "batch_posts": folded / max(1, len(reports)),
        "batch_influencers": updated / max(1, len(reports)),
        # where a measured micro-batch's time goes: Spark's phases (addBatch holds the UDF stage and
        # foreachBatch) and, inside foreachBatch, the state stage and the sinks
        **{
            f"batch_{phase_key(phase)}_ms": ms
            for phase, ms in batch_breakdown_ms(progress).items()
            if phase in ("addBatch", "queryPlanning", "walCommit", "commitOffsets", "triggerExecution")
        },
        "batch_state_stage_ms": 1000.0 * state_s / max(1, len(reports)),
        "batch_sinks_ms": 1000.0 * sum(r.seconds for r in reports) / max(1, len(reports)),
        "batch_collect_ms": 1000.0 * sum(r.collect_seconds for r in reports) / max(1, len(reports)),
        **{
            f"batch_sink_{name}_ms": 1000.0
            * sum(r.sink_seconds.get(name, 0.0) for r in reports)
            / max(1, len(reports))
            for name in (reports[0].sink_seconds if reports else {})
        },
    }


def run(settings: Any, sizes: tuple[int, ...], posts: int, warmup: int, timeout_s: float) -> BenchReport:
    from pyspark.sql import SparkSession

    from streaming.bench.cheap_model import build_cheap_model
    from streaming.infra.kafka_broker import ensure_broker
    from streaming.infra.spark import build_spark_session

    settings, broker = ensure_broker(settings)
    spark, own_session = None, SparkSession.getActiveSession() is None
    try:
        model_dir = Path(tempfile.mkdtemp(prefix="scout-bench-model-")) / "cheap"
        version = build_cheap_model(model_dir)
        spark = build_spark_session(settings)
        report = BenchReport(
            "pipeline",
            f"streaming job with next-to-free encoders ({settings.spark.master}, "
            f"trigger {settings.spark.trigger_seconds:g} s, {posts:,} posts per size)",
        )
        report.figures = {
            "posts_per_size_posts": posts,
            "model_version": version,
            "spark_master": settings.spark.master,
            "trigger_s": settings.spark.trigger_seconds,
        }
        for size in sizes:
            log.info("pipeline bench: %d influencers", size)
            figures = measure(settings, spark, model_dir, size, posts, warmup, timeout_s)
            report.rows.append({"influencers": size, **figures})
            if len(sizes) == 1:
                report.figures.update(figures)
            report.figures.update({f"{key}_{size}": value for key, value in figures.items()})
        report.notes = ["state stage figures from the job's own timings of its state stage, measured batches"]
        return report
    finally:
        if spark is not None and own_session:  # a session this process already ran stays up
            spark.stop()
        if broker is not None:
            broker.stop()


def command(
    ctx: typer.Context,
    influencers: Annotated[
        int | None, typer.Option(help="One world size (default: 1,000, 10,000 and 100,000).")
    ] = None,
    posts: Annotated[int, typer.Option(help="Posts sent flat out per world size.")] = 30_000,
    warmup_posts: Annotated[int, typer.Option(help="Posts streamed first, not measured.")] = 2_000,
    timeout_s: Annotated[float, typer.Option(help="Give up waiting for the job after this long.")] = 1200.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on the last line.")] = False,
    results_dir: Annotated[Path, typer.Option(help="Where pipeline.json is written.")] = RESULTS_DIR,
) -> None:
    """Posts/s of the whole job and of its state stage, with encoders that cost next to nothing.

    Example: scout bench pipeline --influencers 100000 --posts 30000 --json
    """
    from streaming.cli import settings_of

    sizes = (influencers,) if influencers is not None else DEFAULT_SIZES
    report = run(settings_of(ctx), sizes, posts, warmup_posts, timeout_s)
    emit(report, as_json, results_dir)
