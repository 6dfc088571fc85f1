"""The job's state stage on hundreds of influencers per micro-batch: equal to the batch recompute,
classified by the model, and exactly once across replays (nothing is stored until commit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from streaming.job.stateful import PROFILE_COLUMNS, StateConfig, StateStage
from streaming.state import REFERENCE_EPOCH_S, recompute
from streaming.state.store import StateStore

MENTIONED = ["acme", "bolt", "cafe_x", "dune.co", "friend"]
THRESHOLD = 0.7


def _sponsorship_of_all(posts: pd.DataFrame) -> tuple[float, float, dict[str, int], list[str]]:
    """One pass over every post of one influencer: disclosed share, estimated undisclosed posts,
    brand counts and the ids of its likely-undisclosed posts, most likely first."""
    disclosed = posts["disclosed"].to_numpy()
    prob = posts["sponsor_prob"].to_numpy(np.float64)
    flagged = ~disclosed & (prob >= THRESHOLD)
    brands: dict[str, int] = {}
    for i in np.flatnonzero(disclosed | flagged):
        row = posts.iloc[i]
        for brand in dict.fromkeys([*(row["sponsors"] or []), *row["mentions"]]):
            brands[brand] = brands.get(brand, 0) + 1
    likely = posts[flagged].sort_values(["sponsor_prob", "post_id"], ascending=[False, True])
    return disclosed.mean(), prob[~disclosed].sum(), brands, likely["post_id"].head(2).tolist()


def _batch(rng: np.random.Generator, influencers: list[str], posts: int, first: int, dim: int):
    """An embedded micro-batch of ``posts`` posts (the columns the state stage reads)."""
    names = rng.choice(influencers, size=posts)
    names[: len(influencers) // 2] = influencers[: len(influencers) // 2]  # hundreds touched
    ts = REFERENCE_EPOCH_S + 1e8 + rng.uniform(0, 3e7, posts)
    return pd.DataFrame({
        "influencer": names,
        "post_id": [f"p{first + i:06d}" for i in range(posts)],
        "ts": pd.to_datetime(ts, unit="s", utc=True),
        "caption": [f"caption {first + i}" for i in range(posts)],
        "image_uri": [f"file:///img/{first + i}.jpg" for i in range(posts)],
        "h": list(rng.normal(0, 1, (posts, dim)).astype(np.float32)),
        "text": list(rng.normal(0, 1, (posts, 384)).astype(np.float32)),
        "likes": pd.array(np.where(rng.random(posts) < 0.1, None, rng.integers(0, 900, posts)), "Int64"),
        "comments": rng.integers(0, 40, posts),
        "score": rng.normal(0, 3, posts).astype(np.float32),
        "disclosed": rng.random(posts) < 0.2,
        "sponsor_prob": rng.random(posts).astype(np.float32),
        "sponsors": [["acme"] if rng.random() < 0.1 else None for _ in range(posts)],
        "mentions": [list(rng.choice(MENTIONED, rng.integers(0, 3), replace=False)) for _ in range(posts)],
        "source_partition": rng.integers(0, 2, posts),
        "source_offset": np.arange(first, first + posts),
        "batch_time": pd.Timestamp("2026-01-01T00:00:00Z"),
    })  # fmt: skip


@pytest.mark.parametrize("tau", [None, 90 * 86400.0])
def test_hundreds_of_influencers_per_batch_equal_the_batch_recompute(random_model, tmp_path, tau) -> None:
    from jsonschema import Draft202012Validator

    from streaming.events import load_schema
    from streaming.job.sinks.profiles import profile_event
    from streaming.job.sinks.undisclosed import undisclosed_event
    from training.model_dir import load_model

    schema = Draft202012Validator(load_schema("profile"))
    model = load_model(random_model, "cpu")
    rng = np.random.default_rng(2)
    influencers = [f"inf_{i:04d}" for i in range(800)]
    stage = StateStage(
        StateStore(tmp_path / "state.sqlite"),
        model,
        StateConfig(tau, top_k=3, undisclosed_threshold=THRESHOLD, likely_k=2),
    )
    seen: list[pd.DataFrame] = []
    last_category: dict[str, str] = {}
    for batch_id in range(3):
        live = _batch(rng, influencers, 1200, 1200 * batch_id, model.hidden_dim)
        step = stage.fold(live)
        again = stage.fold(live)  # a replay before the commit folds from the same states
        pd.testing.assert_frame_equal(step.profiles, again.profiles)
        stage.commit(batch_id, step)
        assert stage.already_committed(batch_id) and not stage.already_committed(batch_id + 1)
        seen.append(live)
        everything = pd.concat(seen, ignore_index=True)
        profiles = step.profiles
        assert list(profiles.columns) == list(PROFILE_COLUMNS)
        assert len(profiles) == live["influencer"].nunique() >= 400
        for row in profiles.itertuples(index=False):
            posts = everything[everything["influencer"] == row.influencer]
            ts = posts["ts"].astype("int64").to_numpy() / 1e9
            expected = recompute(posts["score"].to_numpy(), np.stack(posts["h"].to_numpy()), ts, tau)
            np.testing.assert_allclose(row.embedding, expected, rtol=0, atol=1e-9)
            assert row.post_count == len(posts)
            text = recompute(posts["score"].to_numpy(), np.stack(posts["text"].to_numpy()), ts, tau)
            np.testing.assert_allclose(row.text_vector, text, rtol=0, atol=1e-9)
            likes = posts["likes"].dropna().astype(float)
            want = likes.mean() if len(likes) else None  # none of its posts said: no mean
            assert row.engagement.likes_mean == (pytest.approx(want, rel=1e-12) if want is not None else None)
            assert row.engagement.comments_mean == pytest.approx(posts["comments"].mean(), rel=1e-12)
            assert row.engagement.last_post_s == pytest.approx(ts.max(), abs=1e-6)
            probs = model.classify(expected[None, :].astype(np.float32))[0]
            assert row.category == model.labels[int(np.argmax(probs))]
            assert row.previous_category == last_category.get(row.influencer)
            mine = live[live["influencer"] == row.influencer]
            assert row.trigger_posts == mine.sort_values("ts")["post_id"].tolist()
            recency = 0.0 if tau is None else (ts - REFERENCE_EPOCH_S) / tau
            adjusted = posts["score"].to_numpy(np.float64) + recency
            best = posts["post_id"].to_numpy()[np.argsort(-adjusted, kind="stable")[:3]]
            assert [p["post_id"] for p in row.top_posts] == best.tolist()
            last_category[row.influencer] = row.category
            share, estimated, brands, likely = _sponsorship_of_all(posts)
            figures = row.sponsorship
            assert figures.disclosed_share == pytest.approx(share, rel=1e-12)
            assert figures.estimated_undisclosed == pytest.approx(estimated, rel=1e-9, abs=1e-9)
            assert {b: n for b, n, _ in figures.brands} == brands
            assert [p.post_id for p in figures.likely] == likely
        flagged = live[~live["disclosed"] & (live["sponsor_prob"] >= THRESHOLD)]
        assert sorted(step.undisclosed["post_id"]) == sorted(flagged["post_id"]) and len(flagged)
        for row in profiles.head(20).itertuples(index=False):  # what the profiles sink writes
            event = profile_event(row, model.labels, batch_id)
            assert not list(schema.iter_errors(event)), next(iter(schema.iter_errors(event)), None)
            assert len(event["text_vector"]) == 384 and event["engagement"]["posts_per_week"] > 0
        undisclosed = Draft202012Validator(load_schema("undisclosed"))
        for row in step.undisclosed.head(20).itertuples(index=False):  # what the undisclosed sink writes
            event = undisclosed_event(row, batch_id)
            assert not list(undisclosed.iter_errors(event)), next(iter(undisclosed.iter_errors(event)), None)
            assert event["probability"] >= THRESHOLD and event["threshold"] == THRESHOLD
    assert stage.store.size == len(last_category)


def test_a_checkpoint_ahead_of_the_store_is_refused(random_model, tmp_path) -> None:
    from streaming.errors import StateStoreError
    from training.model_dir import load_model

    stage = StateStage(StateStore(tmp_path / "state.sqlite"), load_model(random_model, "cpu"), StateConfig())
    assert not stage.already_committed(0)
    with pytest.raises(StateStoreError, match="holds batches through -1.*fresh"):
        stage.already_committed(5)


def test_without_a_sponsored_head_only_the_disclosed_side_is_known(random_model, tmp_path) -> None:
    """Posts with no probability (a model without the head): disclosed figures and brands, the
    estimate null, nothing flagged; a frame without any sponsorship column folds too."""
    from training.model_dir import load_model

    model = load_model(random_model, "cpu")
    rng = np.random.default_rng(9)
    stage = StateStage(
        StateStore(tmp_path / "state.sqlite"), model, StateConfig(undisclosed_threshold=THRESHOLD)
    )
    live = _batch(rng, [f"inf_{i}" for i in range(40)], 200, 0, model.hidden_dim)
    live["sponsor_prob"] = np.nan
    step = stage.fold(live)
    assert step.undisclosed.empty
    for row in step.profiles.itertuples(index=False):
        posts = live[live["influencer"] == row.influencer]
        share, _, brands, _ = _sponsorship_of_all(posts)
        figures = row.sponsorship
        assert figures.disclosed_share == pytest.approx(share, rel=1e-12)
        assert figures.estimated_undisclosed is None and figures.flagged_posts is None
        assert figures.sponsored_share == figures.disclosed_share and figures.likely == ()
        assert {b: n for b, n, _ in figures.brands} == brands  # the disclosed posts' brands
    bare = live.drop(columns=["disclosed", "sponsor_prob", "sponsors", "mentions"])
    for row in stage.fold(bare).profiles.itertuples(index=False):
        assert row.sponsorship.disclosed_posts == 0 and row.sponsorship.brands == ()
