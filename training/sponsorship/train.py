"""Training of the sponsored-post head beside the profiler, on the same post features.

Every post of the training influencers is an example: disclosed posts (the paid-partnership tag
or a marker) are the positives, every other post is unlabelled and trained on as a negative (the
non-traditional classifier of Elkan and Noto, see ``training.sponsorship.head``). Early stopping
keeps the epoch with the lowest cross-entropy on the validation influencers' posts, whose disclosed
posts then give the label frequency c. Seeded; CPU by default, CUDA when present.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from training.bags import post_rows
from training.devices import resolve_device
from training.sponsorship.head import SponsoredHead, SponsoredHeadConfig
from training.sponsorship.labels import post_sponsorship

if TYPE_CHECKING:
    from training.pipeline import Prepared

log = logging.getLogger(__name__)

MIN_POSITIVES = 5  # disclosed training posts below which no head is trained


@dataclass(frozen=True)
class SponsorTrainConfig:
    hidden_dim: int = 64
    dropout: float = 0.2
    lr: float = 1e-3
    weight_decay: float = 1e-3
    batch_size: int = 256
    max_epochs: int = 60
    patience: int = 8  # epochs without a better validation loss before stopping
    seed: int = 0
    device: str = "auto"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SponsorTrainConfig:
        return cls(**data)


@dataclass
class SponsoredFit:
    head: SponsoredHead  # best weights, label frequency set, eval mode, on CPU
    best_epoch: int
    summary: dict[str, Any] = field(default_factory=dict)  # counts, c and where it was estimated
    history: list[dict[str, float]] = field(default_factory=list)


def _bce(head: SponsoredHead, x: torch.Tensor, y: torch.Tensor, batch: int) -> float:
    head.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(x), batch):
            logits = head(x[start : start + batch])
            total += float(
                nn.functional.binary_cross_entropy_with_logits(
                    logits, y[start : start + batch], reduction="sum"
                )
            )
    return total / max(len(x), 1)


def fit_sponsored_head(
    features: np.ndarray,
    disclosed: np.ndarray,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    config: SponsorTrainConfig = SponsorTrainConfig(),
) -> SponsoredFit | None:
    """Train on ``features`` (N, F) rows ``train_rows`` with ``disclosed`` (N,) bool as the labels;
    None (logged) when the training posts hold fewer than MIN_POSITIVES disclosed ones."""
    assert features.ndim == 2 and disclosed.shape == (features.shape[0],), (
        f"features (N, F) and disclosed (N,) expected, got {features.shape} and {disclosed.shape}"
    )
    positives = int(disclosed[train_rows].sum())
    if positives < MIN_POSITIVES:
        log.warning(
            "sponsored head not trained: %d disclosed posts among the %d training posts (needs %d)",
            positives,
            len(train_rows),
            MIN_POSITIVES,
        )
        return None
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
    y = torch.from_numpy(disclosed.astype(np.float32))
    x_train, y_train = x[train_rows].to(device), y[train_rows].to(device)
    held = val_rows if len(val_rows) and disclosed[val_rows].any() else train_rows
    x_val, y_val = x[held].to(device), y[held].to(device)
    head = SponsoredHead(SponsoredHeadConfig(features.shape[1], config.hidden_dim, config.dropout))
    head.set_feature_stats(x_train.mean(0).cpu(), x_train.std(0).cpu())
    head.to(device)
    opt = torch.optim.AdamW(head.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    best_loss, best_epoch, best_state = float("inf"), 0, copy.deepcopy(head.state_dict())
    history: list[dict[str, float]] = []
    for epoch in range(1, config.max_epochs + 1):
        head.train()
        order = torch.from_numpy(rng.permutation(len(x_train))).to(device)
        train_loss = 0.0
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size]
            loss = nn.functional.binary_cross_entropy_with_logits(head(x_train[idx]), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            train_loss += float(loss.detach()) * len(idx)
        val = _bce(head, x_val, y_val, config.batch_size * 4)
        history.append({"epoch": epoch, "train_loss": train_loss / len(order), "val_loss": val})
        if val < best_loss - 1e-5:
            best_loss, best_epoch, best_state = val, epoch, copy.deepcopy(head.state_dict())
        elif epoch - best_epoch >= config.patience:
            break
    head.load_state_dict(best_state)
    head = head.eval().cpu()
    held_positive = held[disclosed[held]]
    c = float(head.disclosed_probability(features[held_positive]).mean())
    head.with_label_frequency(c)
    summary = {
        "train_posts": int(len(train_rows)),
        "train_disclosed": positives,
        "label_frequency": head.config.label_frequency,
        "label_frequency_from": "validation"
        if held is val_rows
        else "training (no validation disclosed posts)",
        "label_frequency_posts": int(len(held_positive)),
        "best_epoch": best_epoch,
        "val_loss": best_loss,
    }
    log.info(
        "sponsored head: %d disclosed of %d training posts, best epoch %d, label frequency c = %.3f (%s)",
        positives,
        len(train_rows),
        best_epoch,
        head.config.label_frequency,
        summary["label_frequency_from"],
    )
    return SponsoredFit(head, best_epoch, summary, history)


def train_beside_profiler(
    prep: Prepared, features: np.ndarray, cache_dir: str | None, config: SponsorTrainConfig
) -> SponsoredFit | None:
    """The head on ``prep``'s split: the training influencers' posts, validated on the validation
    influencers' (``features`` (N, F) the profiler's, rows of ``prep.table``)."""
    labels = post_sponsorship(prep.roots, prep.table, cache_dir)
    train_rows = post_rows(prep.bags, prep.split["train"])
    val_rows = post_rows(prep.bags, prep.split["val"])
    return fit_sponsored_head(features, labels.disclosed, train_rows, val_rows, config)
