"""Helpers of the streaming job tests: worlds of post events, models, settings on the session
broker, feeding `posts` and reading the output topics back, and the batch reference.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from streaming.config import ScoutSettings


@dataclass(frozen=True)
class World:
    root: Path
    events: list[tuple[bytes, bytes]]  # (key, value) in replay order (global time order)
    posts: dict[str, list[dict[str, Any]]]  # influencer -> its post events in time order
    meta: Any  # training.synth.meta.WorldMeta


def build_random_model(out: Path, seed: int = 0, hidden_dim: int = 32, sponsored_head: bool = True) -> str:
    """An untrained but complete model folder (compact CNN + MiniLM + profiler, and a sponsored head
    unless told not to); returns its version."""
    import torch

    from training.dataset.categories import CATEGORIES
    from training.encoders.compact_cnn import CompactCNN, CompactCNNConfig
    from training.encoders.image import ImageEncoderConfig
    from training.encoders.text import TextEncoderConfig
    from training.model_dir import ModelParts, save_model
    from training.profiler import PostAttentiveProfiler, ProfilerConfig
    from training.sponsorship.head import SponsoredHead, SponsoredHeadConfig

    torch.manual_seed(seed)
    cnn = CompactCNN(CompactCNNConfig(image_size=32, width=8, feature_dim=16, num_classes=len(CATEGORIES)))
    profiler = PostAttentiveProfiler(
        ProfilerConfig(
            feature_dim=16 + 384,
            num_classes=len(CATEGORIES),
            hidden_dim=hidden_dim,
            attention_dim=16,
            head_hidden_dim=16,
        )
    )
    with torch.no_grad():  # spread the attention scores so that pooling is far from a plain mean
        for p in profiler.parameters():
            p.mul_(3.0)
    head = SponsoredHead(SponsoredHeadConfig(feature_dim=16 + 384, hidden_dim=16, label_frequency=0.5))
    with torch.no_grad():  # spread its probabilities: a share of the undisclosed posts is flagged, not all
        for p in head.parameters():
            p.mul_(20.0)
    parts = ModelParts(
        profiler=profiler.eval(),
        labels=CATEGORIES,
        modalities=("image", "text"),
        window=16,
        text=TextEncoderConfig(batch_size=16),
        text_dim=384,
        image=ImageEncoderConfig(batch_size=16),
        image_dim=16,
        image_state=cnn.state_dict(),
        sponsorship=head.eval() if sponsored_head else None,
    )
    return save_model(out, parts)


def topic_settings(
    running: Any, checkpoint: Path, model: Path, world: World, **overrides: Any
) -> ScoutSettings:
    """Settings on the session broker with topics of their own (created), for session fixtures."""
    import uuid

    from streaming.config import TopicNames, load_settings
    from streaming.infra import kafka_admin
    from tests.conftest import base_overrides

    prefix = f"job-{uuid.uuid4().hex[:8]}"
    values: dict[str, Any] = {
        **base_overrides(),
        **{
            f"broker.{k}": str(v) if isinstance(v, Path) else v
            for k, v in running.settings.broker.model_dump().items()
        },
        "kafka.bootstrap_servers": running.bootstrap_servers,
        **{f"kafka.topics.{k}": f"{prefix}.{v}" for k, v in TopicNames().model_dump().items()},
        "kafka.posts_partitions": 2,
        "spark.checkpoint_dir": str(checkpoint),
        "job.model_dir": str(model),
        "job.image_roots": [str(world.root)],
        "job.embed_batch_size": 16,
        "job.metrics_port": 0,
        **overrides,
    }
    settings = load_settings(None, values, environ={})
    kafka_admin.ensure_topics(settings.kafka.bootstrap_servers, kafka_admin.topic_specs(settings.kafka))
    return settings


def produce(settings: ScoutSettings, events: list[tuple[bytes, bytes]]) -> None:
    from streaming.infra.kafka_admin import produce as send

    send(settings.kafka.bootstrap_servers, settings.kafka.topics.posts, events)


def read_json(settings: ScoutSettings, topic: str) -> list[dict[str, Any]]:
    from streaming.infra.kafka_admin import read_topic

    return [json.loads(r.value) for r in read_topic(settings.kafka.bootstrap_servers, topic, 60.0)]


def latest_by_influencer(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What a compacted topic converges to: the last event per key (events per partition in order)."""
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        previous = latest.get(event["influencer"])
        if previous is None or event["batch_id"] >= previous["batch_id"]:
            latest[event["influencer"]] = event
    return latest


def random_chunks(items: list[Any], rng: random.Random, parts: int) -> Iterator[list[Any]]:
    """``items`` cut at ``parts - 1`` random places (chunks of random sizes, in order)."""
    cuts = sorted(rng.sample(range(1, len(items)), parts - 1))
    for start, end in zip([0, *cuts], [*cuts, len(items)], strict=True):
        yield items[start:end]


def image_bytes(event: dict[str, Any]) -> bytes:
    from urllib.parse import unquote, urlsplit

    return Path(unquote(urlsplit(event["image_uri"]).path)).read_bytes()


def batch_profile(model: Any, posts: list[dict[str, Any]], tau_seconds: float | None = None) -> np.ndarray:
    """The reference: embed all of one influencer's posts at once and pool them in one softmax.
    Returns (H,) float64 embedding."""
    return batch_pooled(model, posts, tau_seconds)[0]


def batch_pooled(
    model: Any, posts: list[dict[str, Any]], tau_seconds: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(embedding (H,), pooled text vector (T,)), both float64, from one softmax over all posts."""
    from datetime import datetime

    from streaming.state.online_softmax import recompute
    from streaming.text_space import text_block, text_dim
    from training.encoders.post_text import post_text
    from training.interface import PostInput

    inputs = [PostInput(post_text(p["caption"], p["hashtags"], p["usertags"]), image_bytes(p)) for p in posts]
    features = model.encode(inputs)
    step = model.post_step(features)
    ts = np.array([datetime.fromisoformat(p["ts"]).timestamp() for p in posts])
    text = text_block(features, text_dim(model))
    return recompute(step.scores, step.h, ts, tau_seconds), recompute(step.scores, text, ts, tau_seconds)


def batch_sponsorship(model: Any, posts: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    """The reference of one influencer's sponsorship figures: every post validated (disclosure,
    sponsors, mentions) and scored by the model's sponsored head at once, counted in one pass."""
    import json

    from streaming.state.sponsorship import post_brands
    from streaming.validate import ValidationLimits, validate_event
    from training.encoders.post_text import post_text
    from training.interface import PostInput

    valid = [validate_event(json.dumps(p).encode(), ValidationLimits()) for p in posts]
    inputs = [PostInput(post_text(p["caption"], p["hashtags"], p["usertags"]), image_bytes(p)) for p in posts]
    prob = model.sponsorship.undisclosed_probability(model.encode(inputs)).astype(np.float64)  # (n,)
    disclosed = np.array([v.disclosed for v in valid])
    flagged = ~disclosed & (prob >= threshold)
    brands: dict[str, list[int]] = {}
    for v, d in zip(np.array(valid)[disclosed | flagged], disclosed[disclosed | flagged], strict=True):
        for brand in post_brands(v.sponsors, v.mentions):
            counts = brands.setdefault(brand, [0, 0])
            counts[0] += 1
            counts[1] += int(d)
    order = sorted(np.flatnonzero(flagged), key=lambda i: (-prob[i], valid[i].post_id))
    return {
        "disclosed_posts": int(disclosed.sum()),
        "estimated_undisclosed": float(prob[~disclosed].sum()),
        "flagged": {valid[i].post_id: float(prob[i]) for i in np.flatnonzero(flagged)},
        "brands": {brand: tuple(counts) for brand, counts in brands.items()},
        "likely": [valid[i].post_id for i in order],
    }


@dataclass(frozen=True)
class BadEvent:
    key: bytes | None
    value: bytes | None
    reason: str  # the dead-letter reason the job must give it
    stage: str  # parse or embed


def bad_events(world: World, seed: int = 3) -> list[BadEvent]:
    """Malformed records of every kind the job must dead-letter, parse stage and embed stage."""
    import base64

    from streaming.replay import MALFORMED_KINDS, encode, malformed_event

    rng = random.Random(seed)
    influencer, posts = sorted(world.posts.items())[0]
    template = dict(posts[0])
    key = influencer.encode()
    bad = [
        BadEvent(
            b"" if kind == "empty_influencer" else key,
            malformed_event(template, kind, rng, 5000),
            reason,
            "parse",
        )
        for kind, reason in MALFORMED_KINDS.items()
    ]
    bad.append(BadEvent(key, None, "bad_json", "parse"))  # a tombstone
    bad.append(BadEvent(key, b"\xff\xfe not utf-8", "bad_json", "parse"))
    outside = {**template, "post_id": "bad-outside", "image_uri": "file:///etc/hostname"}
    bad.append(BadEvent(key, encode(outside), "image_uri_outside_roots", "parse"))
    garbage = {k: v for k, v in template.items() if k != "image_uri"}
    garbage.update(
        post_id="bad-undecodable", image_b64=base64.b64encode(b"this is not an image" * 8).decode()
    )
    bad.append(BadEvent(key, encode(garbage), "image_undecodable", "embed"))
    missing = {
        **template,
        "post_id": "bad-missing",
        "image_uri": (world.root / "image" / "gone.jpg").as_uri(),
    }
    bad.append(BadEvent(key, encode(missing), "image_unreadable", "embed"))
    return bad


def mixed(
    events: list[tuple[bytes, bytes]], bad: list[BadEvent], seed: int
) -> list[tuple[bytes | None, bytes | None]]:
    """The valid events in order with the bad ones slipped in at random places."""
    rng = random.Random(seed)
    out: list[tuple[bytes | None, bytes | None]] = list(events)
    for item in bad:
        out.insert(rng.randrange(len(out) + 1), (item.key, item.value))
    return out


@dataclass(frozen=True)
class StreamedRun:
    settings: ScoutSettings
    produced: int
    bad: list[BadEvent]
    topics: dict[str, list[dict[str, Any]]]  # output topic field name -> its events

    @property
    def profiles(self) -> dict[str, dict[str, Any]]:
        return latest_by_influencer(self.topics["profiles"])


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a TOML basic string


def write_toml(settings: ScoutSettings, path: Path) -> Path:
    """``settings`` as a TOML file that `scout --config` reads back to the same settings."""
    lines: list[str] = []

    def section(name: str, values: dict[str, Any]) -> None:
        scalars = {k: v for k, v in values.items() if not isinstance(v, dict) and v is not None}
        lines.append(f"[{name}]")
        lines.extend(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in scalars.items())
        for key, value in values.items():
            if isinstance(value, dict) and value:
                section(f"{name}.{key}", value)

    for name, values in settings.model_dump(mode="json").items():
        section(name, values)
    path.write_text("\n".join(lines) + "\n")
    return path


# Clear topics, little noise: a small trained model classifies such influencers reliably.
CLEAR_WORLD = {
    "image_size": 32,
    "on_topic_share": (0.6, 0.8),
    "generic_share": (0.05, 0.1),
    "secondary_share": (0.05, 0.1),
    "modality_overlap": 0.0,
    "text_noise": 0.05,
}


def start_job(config: Path, log_file: Path, *args: str) -> subprocess.Popen:
    """`scout --config CONFIG stream ARGS` in a process group of its own (driver, JVM, workers)."""
    with log_file.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "streaming.cli", "--config", str(config), "stream", *args],
            cwd=Path(__file__).resolve().parents[3],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
