"""The embed stage's per-worker function, without Spark: the model's outputs for good posts, a
dead-letter reason for images that cannot be read or decoded, nothing for rows rejected before."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from streaming.errors import EventValidationError
from streaming.job.embed import EmbedConfig, PostEmbedder, load_image
from tests.streaming.job.helpers import image_bytes


def test_load_image_reads_inline_or_file_within_the_limit(tmp_path) -> None:
    path = tmp_path / "a.jpg"
    path.write_bytes(b"\xff\xd8 jpeg bytes")
    assert load_image(base64.b64encode(b"abc").decode(), None, 10) == b"abc"
    assert load_image(None, str(path), 100) == b"\xff\xd8 jpeg bytes"
    with pytest.raises(EventValidationError) as too_large:
        load_image(None, str(path), 4)
    assert too_large.value.reason == "image_too_large"
    with pytest.raises(EventValidationError) as missing:
        load_image(None, str(tmp_path / "gone.jpg"), 100)
    assert missing.value.reason == "image_unreadable"


def test_embedder_matches_the_model_and_names_bad_images(random_model, tiny_world) -> None:
    from training.encoders.post_text import post_text
    from training.interface import PostInput
    from training.model_dir import load_model

    event = next(iter(tiny_world.posts.values()))[0]
    path = event["image_uri"].removeprefix("file://")
    rows = 4
    embed = PostEmbedder(EmbedConfig(str(random_model), device="cpu", batch_size=4))
    out = embed(
        np.array([True, True, True, False]),
        np.array([event["caption"]] * rows, dtype=object),
        np.array([json.dumps(event["hashtags"])] * rows, dtype=object),
        np.array([json.dumps(event["usertags"])] * rows, dtype=object),
        np.array([None, base64.b64encode(b"not an image").decode(), None, None], dtype=object),
        np.array([path, None, path + ".gone", None], dtype=object),
    )
    assert list(out["embed_reason"]) == [None, "image_undecodable", "image_unreadable", None]
    model = load_model(random_model, "cpu")
    text = post_text(event["caption"], event["hashtags"], event["usertags"])
    features = model.encode([PostInput(text, image_bytes(event))])
    step = model.post_step(features)
    np.testing.assert_allclose(out["h"][0], step.h[0], rtol=1e-5, atol=1e-6)
    assert out["text"].shape == (rows, 384)  # the text block of the features, pooled by the state
    np.testing.assert_allclose(out["text"][0], features[0, -384:], rtol=1e-5, atol=1e-6)
    assert not out["text"][3].any()
    np.testing.assert_allclose(out["score"][0], step.scores[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["post_probs"][0], step.post_probs[0], rtol=1e-5, atol=1e-6)
    assert not out["h"][3].any() and out["score"][3] == 0  # rejected before: not embedded


def test_the_decode_settings_reach_the_embed_pipeline(random_model) -> None:
    from streaming.config import load_settings

    job = load_settings(
        None,
        {"job.model_dir": str(random_model), "job.device": "cpu", "job.embed_host_decoder": "turbo"},
        environ={},
    ).job
    config = EmbedConfig.from_settings(job)
    assert (config.decode, config.host_decoder) == ("gpu", "turbo")
    pipeline = PostEmbedder(config).pipeline.config
    assert (pipeline.decode, pipeline.host_decoder) == ("gpu", "turbo")
