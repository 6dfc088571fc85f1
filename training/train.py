"""Training of the profiler on precomputed post features.

Joint loss per batch of influencers: cross-entropy of the influencer head plus
``post_loss_weight`` x cross-entropy of the post head on every unmasked post, each post labelled
with its influencer's category (the dataset has no post labels; off-topic posts make this label
noisy, which attention learns to discount). A window of posts is drawn per influencer each epoch;
early stopping keeps the weights of the epoch with the lowest validation loss. Seeded; CPU by
default, CUDA when present.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from training.bags import IGNORE, InfluencerBags, PostFeatures, make_batch, post_rows
from training.devices import resolve_device
from training.feature_stats import feature_stats
from training.profiler import PostAttentiveProfiler, ProfilerConfig

if TYPE_CHECKING:
    from training.store.read import StoredFeatures

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    pooling: str = "attention"  # "mean" trains the mean-pooling baseline with the same head
    window: int = 32  # posts drawn per influencer per training step
    hidden_dim: int = 256
    attention_dim: int = 128
    head_hidden_dim: int = 128
    dropout: float = 0.2
    post_loss_weight: float = 0.5
    # lr and patience chosen on validation loss on the 1,000-influencer default world: 5e-4 / 15
    # reached 0.035 where 2e-3 / 8 stopped at 0.062 (best epoch 2); tiny worlds train faster at 2e-3.
    lr: float = 5e-4
    weight_decay: float = 1e-4
    batch_size: int = 32
    max_epochs: int = 60
    patience: int = 15  # epochs without a better validation loss before stopping
    seed: int = 0
    device: str = "auto"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        return cls(**data)


@dataclass
class FitResult:
    profiler: PostAttentiveProfiler  # best weights, eval mode, on CPU
    best_epoch: int
    history: list[dict[str, float]] = field(default_factory=list)  # per epoch: train/val losses


@dataclass(frozen=True)
class Predictions:
    """Evaluation of bags ``idx`` pooling every post."""

    idx: np.ndarray  # (B,) bag indices
    probs: np.ndarray  # (B, C) influencer-category probabilities (softmax of logits, uncalibrated)
    post_rows: np.ndarray  # (P,) table rows of the posts, bag after bag
    post_probs: np.ndarray  # (P, C) post-head probabilities
    weights: np.ndarray  # (P,) attention weight of each post within its bag
    logits: np.ndarray  # (B, C) influencer-category logits (what calibration rescales)
    counts: np.ndarray  # (B,) posts pooled per bag


def _losses(
    model: PostAttentiveProfiler, x: torch.Tensor, mask: torch.Tensor, y: torch.Tensor, weight: float
) -> tuple[torch.Tensor, torch.Tensor]:
    out = model(x, mask)
    influencer = nn.functional.cross_entropy(out.influencer_logits, y)
    post_y = y.unsqueeze(1).expand_as(mask).masked_fill(~mask, IGNORE)  # (B, W)
    post = nn.functional.cross_entropy(out.post_logits.flatten(0, 1), post_y.flatten(), ignore_index=IGNORE)
    return influencer + weight * post, influencer


def _on_device(features: np.ndarray | StoredFeatures, device: torch.device) -> PostFeatures:
    """An in-memory array as one tensor on ``device``; stored features stay on disk."""
    if isinstance(features, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)).to(device)
    return features


@torch.no_grad()
def _val_loss(
    model: PostAttentiveProfiler,
    features: PostFeatures,
    bags: InfluencerBags,
    idx: np.ndarray,
    config: TrainConfig,
    device: torch.device,
) -> float:
    model.eval()
    total = 0.0
    for start in range(0, len(idx), config.batch_size):
        chunk = idx[start : start + config.batch_size]
        x, mask, _, _ = make_batch(features, bags, chunk, None, None)
        x = x.to(device)
        y = torch.from_numpy(bags.labels[chunk]).to(device)
        _, influencer = _losses(model, x, mask.to(device), y, config.post_loss_weight)
        total += float(influencer) * len(chunk)
    return total / max(len(idx), 1)


def fit_profiler(
    features: np.ndarray | StoredFeatures,
    bags: InfluencerBags,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    config: TrainConfig = TrainConfig(),
    progress: bool = True,
) -> FitResult:
    """Train on ``features`` (N, F) (rows of the post table, or of a feature store, read batch by
    batch) for the bags ``train_idx``."""
    assert features.ndim == 2 and features.shape[0] == len(bags.post_topics), (
        "features must be (N, F) per post"
    )
    assert len(train_idx) > 0, "no training influencers"
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    feats = _on_device(features, device)
    model = PostAttentiveProfiler(
        ProfilerConfig(
            feature_dim=features.shape[1],
            num_classes=len(bags.categories),
            hidden_dim=config.hidden_dim,
            attention_dim=config.attention_dim,
            head_hidden_dim=config.head_hidden_dim,
            dropout=config.dropout,
            pooling=config.pooling,  # type: ignore[arg-type]
        )
    )
    model.set_feature_stats(*feature_stats(feats, post_rows(bags, train_idx)))
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    best_loss, best_epoch, best_state = float("inf"), 0, copy.deepcopy(model.state_dict())
    history: list[dict[str, float]] = []
    bar = tqdm(range(1, config.max_epochs + 1), desc=f"profiler ({config.pooling})", disable=not progress)
    for epoch in bar:
        model.train()
        order = rng.permutation(train_idx)
        train_loss = 0.0
        for start in range(0, len(order), config.batch_size):
            chunk = order[start : start + config.batch_size]
            x, mask, _, _ = make_batch(feats, bags, chunk, config.window, rng)
            x = x.to(device)
            y = torch.from_numpy(bags.labels[chunk]).to(device)
            loss, _ = _losses(model, x, mask.to(device), y, config.post_loss_weight)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            train_loss += float(loss.detach()) * len(chunk)
        val = _val_loss(model, feats, bags, val_idx if len(val_idx) else train_idx, config, device)
        history.append({"epoch": epoch, "train_loss": train_loss / len(order), "val_loss": val})
        bar.set_postfix(train=f"{history[-1]['train_loss']:.3f}", val=f"{val:.3f}")
        if val < best_loss - 1e-4:
            best_loss, best_epoch, best_state = val, epoch, copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= config.patience:
            log.info("early stop at epoch %d (best %d, val loss %.4f)", epoch, best_epoch, best_loss)
            break
    model.load_state_dict(best_state)
    return FitResult(model.eval().cpu(), best_epoch, history)


@torch.no_grad()
def predict_bags(
    model: PostAttentiveProfiler,
    features: np.ndarray | StoredFeatures,
    bags: InfluencerBags,
    idx: np.ndarray,
    device: str = "auto",
    batch_size: int = 64,
) -> Predictions:
    """Pool every post of each bag in ``idx`` (as the streaming job does) and classify."""
    idx = np.asarray(idx, dtype=np.int64)
    classes = len(bags.categories)
    if len(idx) == 0:
        empty = np.zeros((0, classes), np.float32)
        none = np.zeros(0, np.int64)
        return Predictions(idx, empty, none, empty, np.zeros(0, np.float32), empty, none)
    dev = resolve_device(device)
    model = model.eval().to(dev)
    feats = _on_device(features, dev)
    logits, rows, post_probs, weights = [], [], [], []
    for start in range(0, len(idx), batch_size):
        chunk = idx[start : start + batch_size]
        x, mask, _, chosen = make_batch(feats, bags, chunk, None, None)
        out = model(x.to(dev), mask.to(dev))
        logits.append(out.influencer_logits.float().cpu().numpy())
        p = torch.softmax(out.post_logits, -1).cpu().numpy()  # (B, W, C)
        w = out.weights.cpu().numpy()  # (B, W)
        for b, r in enumerate(chosen):
            rows.append(r)
            post_probs.append(p[b, : len(r)])
            weights.append(w[b, : len(r)])
    model.cpu()
    all_logits = np.concatenate(logits)
    return Predictions(
        idx=idx,
        probs=torch.softmax(torch.from_numpy(all_logits), -1).numpy(),
        post_rows=np.concatenate(rows),
        post_probs=np.concatenate(post_probs).astype(np.float32),
        weights=np.concatenate(weights).astype(np.float32),
        logits=all_logits,
        counts=bags.counts()[idx],
    )
