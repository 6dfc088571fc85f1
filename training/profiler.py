"""The multimodal post-attentive profiler (Kim et al., WWW '20), as one nn.Module.

Per post j (feature f_j = [image | text], standardised with training statistics):
    h_j = ReLU(W_p f_j + b_p)                 projection                  (H,)
    s_j = v . tanh(W_a h_j + b_a)             additive attention score    ()
    p_j = softmax(W_c h_j + b_c)              post-category head          (C,)
Per influencer:
    e   = sum_j softmax(s)_j h_j              attention pooling over its (unmasked) posts
    y   = MLP(e)                              influencer-category logits  (C,)

``pooling="mean"`` is the mean-pooling baseline with the same projection and head: its scores are
identically zero, so the same softmax pooling (and the streaming job's online softmax) gives the mean
of the projected posts h (a learned per-post map before the mean, as in deep sets).
``pooling="mean_features"`` is the classic average: the encoders' features are averaged first and
the average goes through the projection and the head, e = ReLU(W_p mean_j f_j + b_p). It is a
baseline only: its embedding is not a pooling of the per-post h, so it is not served incrementally.
Every per-post quantity depends on that post alone, which is what makes the streaming update exact.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, NamedTuple

import torch
from torch import nn

Pooling = Literal["attention", "mean", "mean_features"]
POOLINGS = ("attention", "mean", "mean_features")


@dataclass(frozen=True)
class ProfilerConfig:
    feature_dim: int
    num_classes: int
    hidden_dim: int = 256
    attention_dim: int = 128
    head_hidden_dim: int = 128
    dropout: float = 0.2
    pooling: Pooling = "attention"

    def __post_init__(self) -> None:
        assert self.pooling in POOLINGS, f"pooling must be one of {POOLINGS}, got {self.pooling!r}"
        assert self.feature_dim > 0 and self.num_classes > 1, "feature_dim > 0 and num_classes > 1 required"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProfilerConfig:
        return cls(**data)


class ProfilerOutput(NamedTuple):
    influencer_logits: torch.Tensor  # (B, C)
    post_logits: torch.Tensor  # (B, W, C)
    weights: torch.Tensor  # (B, W) attention weights, 0 where masked, rows sum to 1
    embedding: torch.Tensor  # (B, H)


class PostAttentiveProfiler(nn.Module):
    def __init__(self, config: ProfilerConfig) -> None:
        super().__init__()
        self.config = config
        f, h, a, m, c = (
            config.feature_dim,
            config.hidden_dim,
            config.attention_dim,
            config.head_hidden_dim,
            config.num_classes,
        )
        # Feature standardisation fitted on training posts (set_feature_stats); part of the weights.
        self.register_buffer("feature_mean", torch.zeros(f))
        self.register_buffer("feature_std", torch.ones(f))
        self.project = nn.Linear(f, h)
        self.attention = nn.Linear(h, a)
        self.attention_v = nn.Linear(a, 1, bias=False)
        self.post_head = nn.Linear(h, c)
        self.head = nn.Sequential(nn.Linear(h, m), nn.ReLU(), nn.Dropout(config.dropout), nn.Linear(m, c))
        self.dropout = nn.Dropout(config.dropout)

    def set_feature_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        assert mean.shape == std.shape == (self.config.feature_dim,), "stats must be (F,)"
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(std.clamp(min=1e-6))

    def post_step(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(..., F) -> h (..., H), scores (...), post_logits (..., C); each post on its own."""
        assert features.shape[-1] == self.config.feature_dim, (
            f"features have {features.shape[-1]} dims, the profiler expects {self.config.feature_dim}"
        )
        x = (features - self.feature_mean) / self.feature_std
        h = torch.relu(self.project(x))  # (..., H)
        if self.config.pooling == "attention":
            scores = self.attention_v(torch.tanh(self.attention(h))).squeeze(-1)  # (...)
        else:
            scores = torch.zeros(h.shape[:-1], dtype=h.dtype, device=h.device)
        return h, scores, self.post_head(self.dropout(h))

    @staticmethod
    def pool(h: torch.Tensor, scores: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Masked softmax: h (B, W, H), scores (B, W), mask (B, W) bool -> e (B, H), weights (B, W)."""
        assert mask.dtype == torch.bool and mask.shape == scores.shape == h.shape[:2], (
            f"mask {tuple(mask.shape)} / scores {tuple(scores.shape)} must be (B, W) of h {tuple(h.shape)}"
        )
        assert bool(mask.any(dim=1).all()), "every influencer needs at least one unmasked post"
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)  # (B, W)
        return torch.einsum("bw,bwh->bh", weights, h), weights

    def classify(self, embedding: torch.Tensor) -> torch.Tensor:
        """(B, H) pooled embeddings -> (B, C) influencer-category logits."""
        assert embedding.shape[-1] == self.config.hidden_dim, "embedding must be (B, H)"
        return self.head(embedding)

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> ProfilerOutput:
        """features (B, W, F), mask (B, W) bool (True = a real post) -> ProfilerOutput."""
        assert features.ndim == 3, f"features must be (B, W, F), got {tuple(features.shape)}"
        h, scores, post_logits = self.post_step(features)  # (B, W, H), (B, W), (B, W, C)
        embedding, weights = self.pool(h, scores, mask)
        if self.config.pooling == "mean_features":
            mean_f = torch.einsum("bw,bwf->bf", weights, features)  # (B, F): weights are uniform here
            embedding = torch.relu(self.project((mean_f - self.feature_mean) / self.feature_std))  # (B, H)
        return ProfilerOutput(self.classify(self.dropout(embedding)), post_logits, weights, embedding)
