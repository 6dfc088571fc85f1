"""The profiler's forward pass: masked softmax pooling, per-post independence, mean pooling."""

from __future__ import annotations

import pytest
import torch

from training.profiler import PostAttentiveProfiler, ProfilerConfig

F, C = 12, 5


def _model(pooling: str = "attention") -> PostAttentiveProfiler:
    torch.manual_seed(0)
    return PostAttentiveProfiler(ProfilerConfig(F, C, hidden_dim=16, attention_dim=8, pooling=pooling)).eval()


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(3, 6, F, generator=torch.Generator().manual_seed(1))  # (B, W, F)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]], dtype=torch.bool)
    return x, mask


def test_attention_weights_sum_to_one_and_ignore_masked_posts() -> None:
    model = _model()
    x, mask = _batch()
    out = model(x, mask)
    assert out.weights.shape == (3, 6)
    torch.testing.assert_close(out.weights.sum(dim=1), torch.ones(3))
    assert torch.all(out.weights[~mask] == 0)
    assert torch.all(out.weights[mask] > 0)
    assert out.weights[2, 0] == 1.0
    # whatever sits in the masked slots changes nothing
    noisy = x.clone()
    noisy[~mask] = 100.0
    again = model(noisy, mask)
    torch.testing.assert_close(again.influencer_logits, out.influencer_logits)
    torch.testing.assert_close(again.embedding, out.embedding)


def test_pooling_is_the_softmax_of_the_post_scores() -> None:
    model = _model()
    x, mask = _batch()
    h, scores, _ = model.post_step(x[1, :3])  # the three real posts of influencer 1, on their own
    expected = (torch.softmax(scores, 0)[:, None] * h).sum(0)
    torch.testing.assert_close(model(x, mask).embedding[1], expected)


def test_post_step_treats_each_post_on_its_own() -> None:
    model = _model()
    x, _ = _batch()
    h_all, s_all, p_all = model.post_step(x.reshape(-1, F))
    h_one, s_one, p_one = model.post_step(x[0, 4:5])
    torch.testing.assert_close(h_all[4:5], h_one)
    torch.testing.assert_close(s_all[4:5], s_one)
    torch.testing.assert_close(p_all[4:5], p_one)
    assert torch.all(h_all >= 0), "h is a ReLU output"


def test_mean_pooling_gives_zero_scores_and_the_masked_mean() -> None:
    model = _model("mean")
    x, mask = _batch()
    out = model(x, mask)
    h, scores, _ = model.post_step(x)
    assert torch.all(scores == 0)
    torch.testing.assert_close(out.embedding[1], h[1, :3].mean(0))
    torch.testing.assert_close(out.weights[1, :3], torch.full((3,), 1 / 3))


def test_mean_features_pools_the_encoder_features_before_the_projection() -> None:
    model = _model("mean_features")
    x, mask = _batch()
    out = model(x, mask)
    mean_f = x[1, :3].mean(0)
    expected = torch.relu(model.project((mean_f - model.feature_mean) / model.feature_std))
    torch.testing.assert_close(out.embedding[1], expected)
    h, _, _ = model.post_step(x[1, :3])
    assert not torch.allclose(out.embedding[1], h.mean(0)), "not the mean of h"


def test_feature_standardisation_is_part_of_the_model() -> None:
    model = _model()
    x, mask = _batch()
    before = model(x, mask).influencer_logits
    model.set_feature_stats(torch.full((F,), 2.0), torch.full((F,), 4.0))
    shifted = model(x * 4.0 + 2.0, mask).influencer_logits
    torch.testing.assert_close(shifted, before)


def test_shapes_are_checked_with_messages() -> None:
    model = _model()
    x, mask = _batch()
    with pytest.raises(AssertionError, match="expects 12"):
        model.post_step(torch.randn(2, F + 1))
    with pytest.raises(AssertionError, match="at least one unmasked post"):
        model(x, torch.zeros_like(mask))
