"""Profiles of a generated world, built in-process the way the job builds them (no Kafka, no Spark).

Each post goes through the tiny model's real encoders (MiniLM text, compact CNN image) and post
step; the state stage (streaming.job.stateful) folds them in two micro-batches; the profiles sink's
event of each influencer is what the store is filled with, and influencers.txt gives the followers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class WorldProfiles:
    events: list[dict[str, Any]]  # profile events, the latest of each influencer
    followers: dict[str, int]
    labels: dict[str, str]  # influencer -> its category in influencers.txt
    posts: pd.DataFrame  # every post: influencer, likes, comments, ts


def build_world_profiles(root: Path, model: Any, checkpoint: Path) -> WorldProfiles:
    from streaming.job.sinks.profiles import profile_event
    from streaming.job.stateful import StateConfig, StateStage
    from streaming.replay import ordered_posts
    from streaming.state.store import StateStore
    from streaming.text_space import text_block, text_dim
    from training.dataset.reader import open_dataset
    from training.encoders.text import post_text
    from training.interface import PostInput
    from training.synth.knobs import WorldKnobs
    from training.synth.writer import generate_world

    # mostly on-topic posts: the tiny model is untrained, its attention does not pick them out yet
    knobs = WorldKnobs(
        influencers=90, posts=6, seed=3, image_size=32, drift_share=0.0, text_noise=0.1,
        on_topic_share=(0.5, 0.7), generic_share=(0.1, 0.15), secondary_share=(0.05, 0.15),
    )  # fmt: skip
    generate_world(root, knobs, progress=False)
    dataset = open_dataset(root)
    records = [r for r in ordered_posts(dataset) if r.image_paths]
    inputs = [
        PostInput(post_text(r.caption, r.hashtags, r.usertags), dataset.read_image(r.image_paths[0]))
        for r in records
    ]
    features = model.encode(inputs)  # (B, F)
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
    listed = {r.username: r for r in dataset.influencers()}
    return WorldProfiles(
        events=list(latest.values()),
        followers={name: r.followers for name, r in listed.items()},
        labels={name: r.category for name, r in listed.items()},
        posts=live[["influencer", "likes", "comments", "ts"]],
    )
