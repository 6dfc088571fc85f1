"""The batched embed pipeline against the plain reference encoders, on the CPU (same code path as CUDA)."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from training.encoders.compact_cnn import CompactCNN, CompactCNNConfig
from training.encoders.gpu_pipeline import EmbedPipeline, PipelineConfig
from training.encoders.image import ImageEncoder, ImageEncoderConfig
from training.encoders.jpeg_batch import HybridJpegDecoder, _TwoEnded
from training.encoders.preprocess import decode_image
from training.encoders.text import TextEncoder, TextEncoderConfig
from training.encoders.towers import ImageTower, TextTower
from training.interface import PostInput
from training.profiler import PostAttentiveProfiler, ProfilerConfig

CPU = torch.device("cpu")


def _image(width: int, height: int, seed: int, fmt: str = "JPEG") -> bytes:
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8))
    buf = io.BytesIO()
    small.resize((width, height), Image.Resampling.BICUBIC).save(buf, format=fmt, quality=90)
    return buf.getvalue()


@pytest.fixture(scope="module")
def image_encoder() -> ImageEncoder:
    torch.manual_seed(0)
    state = CompactCNN(CompactCNNConfig(image_size=32, width=8, feature_dim=16)).state_dict()
    return ImageEncoder(ImageEncoderConfig(batch_size=4), device="cpu", state_dict=state)


@pytest.fixture(scope="module")
def text_encoder() -> TextEncoder:
    return TextEncoder(TextEncoderConfig(batch_size=4), device="cpu")


@pytest.fixture(scope="module")
def posts() -> list[PostInput]:
    sizes = [(96, 96), (120, 80), (70, 140), (48, 48), (200, 150), (33, 65)]
    out = [
        PostInput(f"post {i}: brunch in the sun #food #yum @friend{i}", _image(w, h, i))
        for i, (w, h) in enumerate(sizes)
    ]
    out.append(PostInput("a png, not a jpeg #fashion", _image(90, 60, 7, fmt="PNG")))
    out.append(PostInput("no picture today", None))
    out.append(PostInput("", _image(64, 64, 9)))
    return out


def _pipeline(image_encoder: ImageEncoder, text_encoder: TextEncoder, **config: object) -> EmbedPipeline:
    settings = {"batch_size": 4, "host_threads": 3, **config}
    return EmbedPipeline(
        ImageTower.from_encoder(image_encoder),
        TextTower.from_encoder(text_encoder),
        "cpu",
        PipelineConfig(**settings),  # type: ignore[arg-type]
    )


def _reference(image_encoder: ImageEncoder, text_encoder: TextEncoder, posts: list[PostInput]) -> np.ndarray:
    images = image_encoder.encode([p.image for p in posts])  # (n, 16)
    return np.concatenate([images, text_encoder.encode([p.text for p in posts])], axis=1)


def test_features_equal_the_reference_encoders(image_encoder, text_encoder, posts) -> None:
    pipe = _pipeline(image_encoder, text_encoder)
    result = pipe.embed_batch(posts)
    pipe.close()
    assert result.features.shape == (len(posts), image_encoder.dim + text_encoder.dim)
    np.testing.assert_allclose(
        result.features, _reference(image_encoder, text_encoder, posts), rtol=1e-4, atol=1e-5
    )
    assert result.image_ok.tolist() == [p.image is not None for p in posts]
    assert result.gpu_decoded == 0 and result.image_errors == {}


def test_runs_inside_a_callers_inference_mode(image_encoder, text_encoder, posts) -> None:
    """Pool threads do not inherit inference mode; buffers made under it must still be writable there."""
    pipe = _pipeline(image_encoder, text_encoder)
    with torch.inference_mode():
        inside = pipe.embed_batch(posts).features
    outside = pipe.embed_batch(posts).features
    pipe.close()
    np.testing.assert_allclose(inside, outside, rtol=1e-6, atol=1e-7)


def test_batch_order_is_preserved(image_encoder, text_encoder, posts) -> None:
    order = np.random.default_rng(3).permutation(len(posts))
    pipe = _pipeline(image_encoder, text_encoder, batch_size=2, host_threads=4)
    forward = pipe.embed_batch(posts).features
    shuffled = pipe.embed_batch([posts[i] for i in order]).features
    streamed = np.concatenate([r.features for r in pipe.embed_stream([posts[:5], posts[5:6], posts[6:]])])
    pipe.close()
    np.testing.assert_allclose(shuffled, forward[order], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(streamed, forward, rtol=1e-5, atol=1e-6)
    assert not np.allclose(forward[0], forward[1]), "distinct posts must give distinct features"


def test_missing_and_undecodable_images_give_the_zero_image_block(image_encoder, text_encoder, posts) -> None:
    batch = [
        posts[0],
        PostInput("no image", None),
        PostInput("broken", b"\xff\xd8\xff\xe0 truncated"),
        posts[1],
    ]
    pipe = _pipeline(image_encoder, text_encoder)
    result = pipe.embed_batch(batch)
    pipe.close()
    d = image_encoder.dim
    assert result.image_ok.tolist() == [True, False, False, True]
    assert list(result.image_errors) == [2]
    assert np.all(result.features[1:3, :d] == 0.0)
    expected_text = text_encoder.encode([p.text for p in batch])
    np.testing.assert_allclose(result.features[:, d:], expected_text, rtol=1e-4, atol=1e-5)
    good = _reference(image_encoder, text_encoder, [posts[0], posts[1]])
    np.testing.assert_allclose(result.features[[0, 3]], good, rtol=1e-4, atol=1e-5)


def test_post_step_runs_on_the_features(image_encoder, text_encoder, posts) -> None:
    torch.manual_seed(1)
    profiler = PostAttentiveProfiler(
        ProfilerConfig(feature_dim=image_encoder.dim + text_encoder.dim, num_classes=9)
    )
    pipe = EmbedPipeline(
        ImageTower.from_encoder(image_encoder),
        TextTower.from_encoder(text_encoder),
        "cpu",
        PipelineConfig(batch_size=4, host_threads=2),
        profiler=profiler,
    )
    result = pipe.embed_batch(posts)
    pipe.close()
    assert result.step is not None
    with torch.inference_mode():
        h, scores, logits = profiler.post_step(torch.from_numpy(result.features))
    np.testing.assert_allclose(result.step.h, h.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.step.scores, scores.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.step.post_probs.sum(axis=1), 1.0, rtol=1e-5)
    assert result.step.post_probs.argmax(1).tolist() == logits.argmax(1).tolist()


def test_mixed_precision_stays_close_to_float32(image_encoder, text_encoder, posts) -> None:
    pipe = _pipeline(image_encoder, text_encoder, precision="bf16")
    mixed = pipe.embed_batch(posts).features
    pipe.close()
    reference = _reference(image_encoder, text_encoder, posts)
    rel = np.linalg.norm(mixed - reference) / np.linalg.norm(reference)
    assert 0.0 < rel < 3e-2, f"bf16 relative error {rel}"


def test_turbo_host_decoder_is_close_to_the_reference(posts) -> None:
    images = [p.image for p in posts]
    turbo = HybridJpegDecoder(40, CPU, host_threads=2, gpu_decode=False, host_decoder="turbo").decode(images)
    reference = HybridJpegDecoder(40, CPU, host_threads=2, gpu_decode=False, host_decoder="pil").decode(
        images
    )
    assert turbo.ok.tolist() == reference.ok.tolist()
    diff = (turbo.pixels.int() - reference.pixels.int()).abs()
    assert diff.max() <= 24 and diff.float().mean() < 2.0, f"max {diff.max()}, mean {diff.float().mean()}"
    for row in (0, 6):  # a JPEG and the PNG (decoded by the reference decoder in both)
        exact = torch.from_numpy(decode_image(images[row], 40))  # type: ignore[arg-type]
        assert torch.equal(reference.pixels[row], exact)
    assert torch.equal(turbo.pixels[6], reference.pixels[6])


def test_two_ended_work_list_hands_out_each_position_once() -> None:
    cursor = _TwoEnded(1000, front_limit=700)
    taken: list[list[int]] = [[] for _ in range(6)]

    def front(k: int) -> None:
        while chunk := cursor.take_front(7):
            taken[k].extend(chunk)

    def back(k: int) -> None:
        while chunk := cursor.take_back(3):
            taken[k].extend(chunk)

    threads = [threading.Thread(target=front if k < 2 else back, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = sorted(p for chunk in taken for p in chunk)
    assert everything == list(range(1000))
    assert all(p < 700 for k in (0, 1) for p in taken[k]), "the front never passes its limit"


def test_host_threads_leave_the_last_jpegs_to_the_gpu_but_never_the_other_formats() -> None:
    cursor = _TwoEnded(12, front_limit=10)  # positions 10 and 11 are not JPEGs
    assert list(cursor.take_back(1, reserve=50)) == [11]
    assert list(cursor.take_back(1, reserve=50)) == [10]
    assert list(cursor.take_back(1, reserve=50)) == [], (
        "the GPU finishes 10 JPEGs sooner than a host thread one"
    )
    assert list(cursor.take_back(2, reserve=5)) == [8, 9]
    assert list(cursor.take_front(100)) == list(range(8))
    assert list(cursor.take_back(1)) == []


def test_text_tower_tokenizes_like_the_plain_tokenizer_call(text_encoder, posts) -> None:
    tower = TextTower.from_encoder(text_encoder)
    texts = [p.text for p in posts] + ["", "Émoji 🎉 naïve café " * 40]
    fast = tower.tokenize(texts)
    plain = text_encoder.tokenizer(
        texts, padding=True, truncation=True, max_length=tower.max_length, return_tensors="pt"
    )
    assert torch.equal(fast["input_ids"], plain["input_ids"])
    assert torch.equal(fast["attention_mask"], plain["attention_mask"])
    assert fast["input_ids"].shape[1] == tower.max_length, "the long text is truncated to max_length"
