"""`scout bench pipeline`'s pieces: its synthetic posts are valid events over the asked world, its
model folder loads and embeds them, and a tiny run through the real job reports every figure."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from streaming.bench.pipeline import synthetic_events
from streaming.bench.stream_latency import phase_key, slow_batches


def test_synthetic_posts_are_valid_and_spread_over_the_world() -> None:
    from streaming.validate import ValidationLimits, validate_event

    events = synthetic_events(influencers=50, posts=400, seed=3)
    posts = [validate_event(value, ValidationLimits()) for _, value in events]
    assert len({p.post_id for p in posts}) == 400
    assert {key.decode() for key, _ in events} == {p.influencer for p in posts}
    assert 40 <= len({p.influencer for p in posts}) <= 50


def test_the_cheap_model_embeds_the_synthetic_posts(tmp_path) -> None:
    from streaming.bench.cheap_model import CHEAP_HIDDEN_DIM, build_cheap_model
    from streaming.config import JobSettings
    from streaming.job.embed import EmbedConfig, parse_embed_frame
    from streaming.validate import ValidationLimits

    build_cheap_model(tmp_path / "model")
    job = JobSettings(model_dir=tmp_path / "model")
    values = pd.Series([value for _, value in synthetic_events(10, 20, seed=1)])
    frame = parse_embed_frame(values, ValidationLimits.from_settings(job), EmbedConfig.from_settings(job))
    assert frame["dlq_reason"].isna().all() and frame["embed_reason"].isna().all()
    assert all(len(h) == CHEAP_HIDDEN_DIM for h in frame["h"])


def test_phase_keys_and_slow_batches() -> None:
    assert phase_key("addBatch") == "add_batch"
    progress = [
        {"numInputRows": 5, "durationMs": {"triggerExecution": 3500}},
        {"numInputRows": 5, "durationMs": {"triggerExecution": 900}},
        {"numInputRows": 0, "durationMs": {"triggerExecution": 9000}},  # read nothing: not counted
    ]
    assert slow_batches(progress) == 1


@pytest.mark.integration
def test_a_tiny_pipeline_run_reports_its_figures(kafka_broker, scout_settings, tmp_path) -> None:
    from typer.testing import CliRunner

    from streaming.cli import app

    settings = scout_settings(unique=True)
    result = CliRunner().invoke(app, [
        "--set", f"kafka.bootstrap_servers={settings.kafka.bootstrap_servers}",
        "bench", "pipeline", "--influencers", "200", "--posts", "300", "--warmup-posts", "40",
        "--json", "--results-dir", str(tmp_path),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    for key in ("state_stage_posts_per_s", "state_stage_ms_per_influencer", "pipeline_posts_per_s"):
        assert figures[key] > 0 and figures[f"{key}_200"] == figures[key]
    assert figures["batch_posts"] * figures["batch_count"] == pytest.approx(300)
