"""`scout bench stream`: the whole streaming job on a world's posts, and the bare encoders beside it.

One run, three measurements on the same posts:

1. bare encoders: the model's embed pipeline (decode, image + text towers, post step) over all the
   posts in this process, no Spark or Kafka: posts/s.
2. sustained throughput: a warm job (model loaded, first batches done) is sent ``--posts`` posts as
   fast as the broker takes them; posts/s from the first send to the last profile published.
3. latency: the next ``--latency-posts`` are sent paced at ``--rate`` posts/s (default: half the
   measured throughput). Post -> profile is the time from a post's record on `posts` to the first
   profile record on `influencer-profiles` that counts it; post -> reclassification from a post
   to the reclassified record that lists it among its trigger posts. Both are Kafka record
   timestamps (producer send times), so they include the trigger wait, every stage and the sinks.

It needs a broker (kafka.bootstrap_servers) and a model folder (job.model_dir); topics and the
checkpoint are its own and are left behind for inspection.

    scout --set job.model_dir=build/model bench stream --world build/world --posts 2000 --json
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from streaming.bench.report import RESULTS_DIR, BenchReport, emit
from streaming.bench.run_settings import run_settings
from streaming.bench.stream_latency import (
    batch_breakdown_ms,
    percentiles,
    phase_key,
    post_to_profile_ms,
    post_to_reclassification_ms,
    slow_batches,
)
from streaming.infra.wait import wait_until

log = logging.getLogger(__name__)

WARMUP_WAVES = 4  # micro-batches of warm-up posts before anything is measured


# -- the run ----------------------------------------------------------------------------------------


def world_events(world: Path, limit: int | None) -> list[tuple[bytes, bytes, dict[str, Any]]]:
    """(key, value, event) of a dataset's posts in time order, images as file URIs."""
    from streaming.replay import encode, ordered_posts, to_post_event
    from training.dataset.reader import open_dataset

    dataset = open_dataset(world)
    out = []
    for record in ordered_posts(dataset, limit):
        if record.image_paths:
            event = to_post_event(record, "uri", dataset.read_image)
            out.append((record.influencer.encode(), encode(event), event))
    return out


def encoder_posts_per_s(model_dir: Path, device: str, batch_size: int, events: list[dict[str, Any]]) -> float:
    """The embed stage alone (pipeline + post step) over ``events``, after one warm-up batch."""
    from streaming.job.embed import load_image
    from streaming.validate import resolve_image_uri
    from training.encoders.gpu_pipeline import EmbedPipeline, PipelineConfig
    from training.encoders.post_text import post_text
    from training.interface import PostInput
    from training.model_dir import load_model

    posts = [
        PostInput(
            post_text(e["caption"], e["hashtags"], e["usertags"]),
            load_image(
                e.get("image_b64"),
                resolve_image_uri(e["image_uri"], ()) if "image_uri" in e else None,
                1 << 30,
            ),
        )
        for e in events
    ]
    pipeline = EmbedPipeline.from_model(load_model(model_dir, device), PipelineConfig(batch_size=batch_size))
    pipeline.embed_batch(posts[:batch_size])  # warm-up
    started = time.perf_counter()
    pipeline.embed_batch(posts)
    seconds = time.perf_counter() - started
    pipeline.close()
    return len(posts) / seconds


def _send(settings: Any, records: list[tuple[bytes, bytes]], rate: float | None) -> None:
    from streaming.infra.kafka_admin import kafka_producer

    kafka = settings.kafka
    producer = kafka_producer(kafka.bootstrap_servers, kafka.client_properties)
    started = time.monotonic()
    for i, (key, value) in enumerate(records):
        if rate is not None and (ahead := started + i / rate - time.monotonic()) > 0:
            time.sleep(ahead)
        producer.send(kafka.topics.posts, key=key, value=value)
    producer.flush()
    producer.close()


class _Progress:
    """Posts folded in so far, from the job's commit reports (called on the driver thread)."""

    def __init__(self) -> None:
        self.posts = 0
        self.reports: list[Any] = []
        self.lock = threading.Lock()

    def __call__(self, report: Any) -> None:
        with self.lock:
            self.posts += report.posts
            self.reports.append(report)

    def wait(self, total: int, timeout_s: float) -> float:
        """Block until ``total`` posts are folded in; returns that monotonic time."""
        wait_until(
            lambda: self.posts >= total,
            timeout_s=timeout_s,
            interval_s=0.02,
            timed_out=lambda: TimeoutError(f"only {self.posts} of {total} posts folded in {timeout_s:.0f}s"),
        )
        return time.monotonic()


def run(
    settings: Any,
    world: Path,
    posts: int,
    latency_posts: int,
    warmup_posts: int,
    rate: float | None,
    timeout_s: float,
) -> BenchReport:
    from streaming.infra.kafka_admin import read_topic
    from streaming.job.runner import StreamJob
    from streaming.replay import check_reachable

    check_reachable(settings.kafka)
    model_dir = settings.job.model_dir
    events = world_events(world, warmup_posts + posts + latency_posts)
    if len(events) < warmup_posts + posts + latency_posts:
        raise typer.BadParameter(f"{world} has only {len(events)} posts with images; ask for fewer")
    warmup, measured, paced = (events[:warmup_posts], events[warmup_posts : warmup_posts + posts],
                               events[warmup_posts + posts :])  # fmt: skip

    def bare() -> float:  # measured before and after the job: a busy machine drifts
        rate = encoder_posts_per_s(model_dir, settings.job.device, settings.job.embed_batch_size,
                                   [e for _, _, e in measured])  # fmt: skip
        log.info("bare encoders: %.1f posts/s", rate)
        return rate

    encoder_before = bare()

    checkpoint = Path(tempfile.mkdtemp(prefix="scout-bench-stream-")) / "checkpoint"
    bench = run_settings(settings, "bench", checkpoint, model_dir=model_dir, image_roots=(world.resolve(),))
    progress = _Progress()
    job = StreamJob(bench, on_commit=progress)
    job.start()
    try:
        # Warm-up in waves: Spark's pool hands a micro-batch whichever Python workers are idle, and
        # each loads the model the first time it embeds. Several batches make the loads likelier to
        # happen here, not certain: a worker first used later still pays its load then.
        for wave in range(WARMUP_WAVES):
            part = warmup[wave * len(warmup) // WARMUP_WAVES : (wave + 1) * len(warmup) // WARMUP_WAVES]
            _send(bench, [(k, v) for k, v, _ in part], None)
            progress.wait((wave + 1) * len(warmup) // WARMUP_WAVES, timeout_s)
        started = time.monotonic()
        _send(bench, [(k, v) for k, v, _ in measured], None)
        done = progress.wait(len(warmup) + len(measured), timeout_s)
        throughput = len(measured) / (done - started)
        pace = rate or max(1.0, 0.5 * throughput)
        assert job.query is not None
        before = {p["batchId"] for p in job.query.recentProgress}
        reports_before = len(progress.reports)
        _send(bench, [(k, v) for k, v, _ in paced], pace)
        progress.wait(len(events), timeout_s)
        # where a paced batch's time goes (Spark keeps the last 100 progress reports)
        paced_progress = [p for p in job.query.recentProgress if p["batchId"] not in before]
        breakdown = batch_breakdown_ms(paced_progress)
        state_reports = [r for r in progress.reports[reports_before:] if r.posts]
        if state_reports:
            breakdown["state_stage"] = 1000 * sum(r.state_seconds for r in state_reports) / len(state_reports)
        breakdown["slow_batches"] = slow_batches(paced_progress)
    finally:
        job.stop()
    encoder = (encoder_before + bare()) / 2

    topics, kafka = bench.kafka.topics, bench.kafka
    sent = read_topic(kafka.bootstrap_servers, topics.posts, 120.0, kafka.client_properties)
    profiles = [
        (r.key.decode(), _json(r.value)["post_count"], r.timestamp)
        for r in read_topic(kafka.bootstrap_servers, topics.profiles, 120.0, kafka.client_properties)
    ]
    reclassified = [
        (_json(r.value)["trigger_posts"], r.timestamp)
        for r in read_topic(kafka.bootstrap_servers, topics.reclassified, 120.0, kafka.client_properties)
    ]
    paced_ids = {e["post_id"] for _, _, e in paced}
    post_ids = [_json(r.value)["post_id"] for r in sent]
    to_profile = post_to_profile_ms([(r.key.decode(), r.timestamp) for r in sent], profiles)
    to_profile = to_profile[[i for i, p in enumerate(post_ids) if p in paced_ids]]
    to_reclass = post_to_reclassification_ms(
        {p: r.timestamp for p, r in zip(post_ids, sent, strict=True) if p in paced_ids}, reclassified
    )
    return _report(
        bench, world, len(measured), len(paced), encoder, throughput, pace, to_profile, to_reclass, breakdown
    )


def _json(value: bytes) -> dict[str, Any]:
    import json

    return json.loads(value)


def _report(
    settings: Any,
    world: Path,
    measured: int,
    paced: int,
    encoder: float,
    throughput: float,
    pace: float,
    to_profile: np.ndarray,
    to_reclass: np.ndarray,
    breakdown: dict[str, float],
) -> BenchReport:
    phases = {phase: ms for phase, ms in breakdown.items() if phase not in ("input_rows", "slow_batches")}
    profile_p50, profile_p99 = percentiles(to_profile)
    reclass_p50, reclass_p99 = percentiles(to_reclass)
    report = BenchReport(
        "stream",
        f"streaming job vs bare encoders ({settings.spark.master}, "
        f"trigger {settings.spark.trigger_seconds:g} s, device {settings.job.device})",
    )
    report.rows = [
        {"measure": "bare encoders", "posts": measured, "posts/s": encoder},
        {"measure": "streaming job, sustained", "posts": measured, "posts/s": throughput},
        {"measure": "pipeline / encoder ratio", "posts/s": throughput / encoder},
        {"measure": "post -> profile", "posts": paced, "p50 ms": profile_p50, "p99 ms": profile_p99},
        {"measure": "post -> reclassification", "posts": int(to_reclass.size), "p50 ms": reclass_p50,
         "p99 ms": reclass_p99},
        {"measure": "paced micro-batches over 3 s", "batches": int(breakdown.get("slow_batches", 0))},
    ]  # fmt: skip
    report.figures = {
        "encoder_posts_per_s": encoder,
        "pipeline_posts_per_s": throughput,
        "pipeline_to_encoder_ratio": throughput / encoder,
        "latency_rate_per_s": pace,
        "post_to_profile_p50_ms": profile_p50,
        "post_to_profile_p99_ms": profile_p99,
        "post_to_reclassification_p50_ms": reclass_p50,
        "post_to_reclassification_p99_ms": reclass_p99,
        "reclassification_trigger_posts": int(to_reclass.size),
        "throughput_posts": measured,
        "latency_posts": paced,
        "trigger_s": settings.spark.trigger_seconds,
        "spark_master": settings.spark.master,
        "device": settings.job.device,
        "world": str(world),
        "paced_batch_posts": breakdown.get("input_rows", float("nan")),
        # paced micro-batches (all after the warm-up) whose trigger execution took over 3 s
        "slow_batches_count": int(breakdown.get("slow_batches", 0)),
        **{f"paced_batch_{phase_key(phase)}_ms": ms for phase, ms in phases.items()},
    }
    report.notes = [
        f"latency measured at {pace:.1f} posts/s (paced); Kafka record times on the topics",
        "paced micro-batch, mean ms: " + ", ".join(f"{phase} {ms:,.0f}" for phase, ms in phases.items()),
    ]
    return report


def command(
    ctx: typer.Context,
    world: Annotated[
        Path, typer.Option(help="Dataset folder whose posts are streamed (e.g. from scout generate).")
    ],
    posts: Annotated[int, typer.Option(help="Posts sent flat out for the throughput figure.")] = 1000,
    latency_posts: Annotated[int, typer.Option(help="Posts sent paced for the latency figures.")] = 300,
    warmup_posts: Annotated[int, typer.Option(help="Posts streamed first, not measured.")] = 64,
    rate: Annotated[
        float | None, typer.Option(help="Paced rate, posts/s (default: half the throughput).")
    ] = None,
    timeout_s: Annotated[float, typer.Option(help="Give up waiting for the job after this long.")] = 1800.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on the last line.")] = False,
    results_dir: Annotated[Path, typer.Option(help="Where <name>.json is written.")] = RESULTS_DIR,
) -> None:
    """Sustained posts/s and post -> profile / reclassification latency of the streaming job, with
    the bare encoder throughput on the same posts and their ratio. Needs a broker and job.model_dir.

    Example: scout --set job.model_dir=build/model bench stream --world build/world --posts 1000 --json
    """
    from streaming.cli import settings_of

    report = run(settings_of(ctx), world, posts, latency_posts, warmup_posts, rate, timeout_s)
    emit(report, as_json, results_dir)
