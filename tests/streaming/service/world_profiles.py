"""Profiles of a generated world, built in-process the way the job builds them (no Kafka, no Spark).

Each post goes through the tiny model's real encoders (MiniLM text, compact CNN image); a small
profiler is trained on those features for a few seconds (training.train.fit_profiler) and saved
as a model folder beside the tiny model's encoders; its post step scores the posts, the state stage
(streaming.job.stateful) folds them in two micro-batches; the profiles sink's event of each
influencer is what the store is filled with, and influencers.txt gives the followers.

The world keeps each category's own words (``modality_overlap=0``): by default the generator writes
half of the fitness/food and beauty/fashion captions in the partner's vocabulary on purpose (so that
text alone cannot tell them apart), and a search by words could not either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class WorldProfiles:
    model: Any  # the trained model (training.model_dir.ScoutModel)
    events: list[dict[str, Any]]  # profile events, the latest of each influencer
    followers: dict[str, int]
    labels: dict[str, str]  # influencer -> its category in influencers.txt
    posts: pd.DataFrame  # every post: influencer, likes, comments, ts


def train_world_model(encoders: Any, encoders_dir: Path, features: np.ndarray, names: list[str],
                      labels: dict[str, str], out: Path) -> Any:  # fmt: skip
    """A profiler fitted to the world's post features (rows grouped by influencer), saved with the
    encoders of ``encoders_dir`` as a model folder; returns it loaded."""
    from safetensors.torch import load_file

    from training.bags import IGNORE, InfluencerBags
    from training.dataset.categories import CATEGORIES
    from training.encoders.image import ImageEncoderConfig
    from training.encoders.text import TextEncoderConfig
    from training.model_dir import ModelParts, load_model, save_model
    from training.train import TrainConfig, fit_profiler

    order = list(dict.fromkeys(names))
    rows = np.asarray(names)
    starts = np.array([np.flatnonzero(rows == n)[0] for n in order])
    ends = np.array([np.flatnonzero(rows == n)[-1] + 1 for n in order])
    assert all((rows[s:e] == n).all() for n, s, e in zip(order, starts, ends, strict=True)), "grouped rows"
    bags = InfluencerBags(
        names=tuple(order),
        labels=np.array([CATEGORIES.index(labels[n]) for n in order]),
        starts=starts,
        ends=ends,
        post_topics=np.full(len(names), IGNORE, dtype=np.int64),
    )
    config = TrainConfig(hidden_dim=32, attention_dim=16, head_hidden_dim=32, max_epochs=40, patience=40,
                         batch_size=16, lr=3e-3, device="cpu")  # fmt: skip
    fitted = fit_profiler(
        features, bags, np.arange(len(order)), np.arange(len(order)), config, progress=False
    )
    image = encoders.folder / "image_encoder.json"
    import json

    image_config = ImageEncoderConfig.from_dict(json.loads(image.read_text())["config"])
    save_model(
        out,
        ModelParts(
            profiler=fitted.profiler,
            labels=CATEGORIES,
            modalities=("image", "text"),
            window=8,
            text=TextEncoderConfig(),
            text_dim=384,
            image=image_config,
            image_dim=16,
            image_state=load_file(str(encoders_dir / "image_encoder.safetensors")),
        ),
    )
    return load_model(out, device="cpu")


def build_world_profiles(root: Path, encoders: Any, checkpoint: Path) -> WorldProfiles:
    from streaming.job.sinks.profiles import profile_event
    from streaming.job.stateful import StateConfig, StateStage
    from streaming.replay import ordered_posts
    from streaming.state.store import StateStore
    from streaming.text_space import text_block, text_dim
    from training.dataset.reader import open_dataset
    from training.encoders.post_text import post_text
    from training.interface import PostInput
    from training.synth.knobs import WorldKnobs
    from training.synth.writer import generate_world

    knobs = WorldKnobs(
        influencers=90, posts=6, seed=3, image_size=32, drift_share=0.0, text_noise=0.1, modality_overlap=0.0,
        on_topic_share=(0.5, 0.7), generic_share=(0.1, 0.15), secondary_share=(0.05, 0.15),
    )  # fmt: skip
    generate_world(root, knobs, progress=False)
    dataset = open_dataset(root)
    records = [r for r in ordered_posts(dataset) if r.image_paths]
    inputs = [
        PostInput(post_text(r.caption, r.hashtags, r.usertags), dataset.read_image(r.image_paths[0]))
        for r in records
    ]
    listed = {r.username: r for r in dataset.influencers()}
    features = encoders.encode(inputs)  # (B, F)
    by_influencer = np.argsort([r.influencer for r in records], kind="stable")
    model = train_world_model(
        encoders, encoders.folder, features[by_influencer], [records[i].influencer for i in by_influencer],
        {name: r.category for name, r in listed.items()}, checkpoint / "model",
    )  # fmt: skip
    step = model.post_step(features)
    text = text_block(features, text_dim(model))  # (B, T)
    live = pd.DataFrame({
        "influencer": [r.influencer for r in records],
        "post_id": [r.post_id for r in records],
        "ts": pd.to_datetime([r.ts for r in records], utc=True),
        "caption": [r.caption for r in records],
        "image_uri": [None] * len(records),
        "h": list(step.h),
        "score": step.scores,
        "text": list(text),
        "likes": pd.array([r.likes for r in records], "Int64"),
        "comments": pd.array([r.comments for r in records], "Int64"),
        "source_partition": 0,
        "source_offset": np.arange(len(records)),
        "batch_time": pd.Timestamp("2026-01-01T00:00:00Z"),
    })  # fmt: skip
    stage = StateStage(StateStore(checkpoint / "state.sqlite"), model, StateConfig(top_k=3))
    latest: dict[str, dict[str, Any]] = {}
    half = len(live) // 2
    for batch_id, part in enumerate((live.iloc[:half], live.iloc[half:])):
        folded = stage.fold(part.reset_index(drop=True))
        for row in folded.profiles.itertuples(index=False):
            latest[row.influencer] = profile_event(row, model.labels, batch_id)
        stage.commit(batch_id, folded)
    stage.close()
    return WorldProfiles(
        model=model,
        events=list(latest.values()),
        followers={name: r.followers for name, r in listed.items()},
        labels={name: r.category for name, r in listed.items()},
        posts=live[["influencer", "likes", "comments", "ts"]],
    )
