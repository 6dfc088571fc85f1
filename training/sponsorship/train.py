"""Training of the sponsored-post head beside the profiler, on the same post features.

Every post of the training influencers is an example: disclosed posts (the paid-partnership tag
or a marker) are the positives, every other post is unlabelled and trained on as a negative (the
non-traditional classifier of Elkan and Noto, see ``training.sponsorship.head``). Early stopping
keeps the epoch with the lowest cross-entropy on the validation influencers' posts, whose disclosed
posts then give the label frequency c. Seeded; CPU by default, CUDA when present.

The features are read a batch at a time, from an array in memory or from a feature store
(``training.sponsorship.rows``): memory is one batch plus a few numbers per post (the labels, the
rows of the split), whatever the number of posts.
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
from training.feature_stats import feature_stats
from training.sponsorship.head import SponsoredHead, SponsoredHeadConfig
from training.sponsorship.labels import prepared_sponsorship
from training.sponsorship.rows import CHUNK, PostRows, over_rows, row_blocks

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


def _on(device: torch.device, block: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(block, dtype=np.float32)).to(device)


def _bce(
    head: SponsoredHead,
    features: PostRows,
    disclosed: np.ndarray,
    rows: np.ndarray,
    device: torch.device,
    batch: int,
) -> float:
    """Mean cross-entropy of ``rows``, read ``batch`` rows at a time."""
    head.eval()
    total = 0.0
    with torch.no_grad():
        for start, block in zip(range(0, len(rows), batch), row_blocks(features, rows, batch), strict=True):
            y = _on(device, disclosed[rows[start : start + batch]])
            logits = head(_on(device, block))
            total += float(nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="sum"))
    return total / max(len(rows), 1)


def fit_sponsored_head(
    features: PostRows,
    disclosed: np.ndarray,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    config: SponsorTrainConfig = SponsorTrainConfig(),
) -> SponsoredFit | None:
    """Train on ``features`` (N, F) rows ``train_rows`` with ``disclosed`` (N,) bool as the labels;
    None (logged) when the training posts hold fewer than MIN_POSITIVES disclosed ones.
    ``features`` is an array in memory or a feature store's rows: either way each step reads its
    batch's rows only, and the standardisation is computed over chunks in float64."""
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
    held = val_rows if len(val_rows) and disclosed[val_rows].any() else train_rows
    head = SponsoredHead(SponsoredHeadConfig(features.shape[1], config.hidden_dim, config.dropout))
    head.set_feature_stats(*feature_stats(features, train_rows, chunk=CHUNK))
    head.to(device)
    opt = torch.optim.AdamW(head.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    best_loss, best_epoch, best_state = float("inf"), 0, copy.deepcopy(head.state_dict())
    history: list[dict[str, float]] = []
    for epoch in range(1, config.max_epochs + 1):
        head.train()
        order = rng.permutation(len(train_rows))
        train_loss = 0.0
        for start in range(0, len(order), config.batch_size):
            rows = train_rows[order[start : start + config.batch_size]]  # (b,) rows of this step
            x, y = _on(device, features[rows]), _on(device, disclosed[rows])  # (b, F), (b,)
            loss = nn.functional.binary_cross_entropy_with_logits(head(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            train_loss += float(loss.detach()) * len(rows)
        val = _bce(head, features, disclosed, held, device, config.batch_size * 4)
        history.append({"epoch": epoch, "train_loss": train_loss / len(order), "val_loss": val})
        if val < best_loss - 1e-5:
            best_loss, best_epoch, best_state = val, epoch, copy.deepcopy(head.state_dict())
        elif epoch - best_epoch >= config.patience:
            break
    head.load_state_dict(best_state)
    head = head.eval().cpu()
    held_positive = held[disclosed[held]]
    c = float(over_rows(head.disclosed_probability, features, held_positive).mean())
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
    prep: Prepared, features: PostRows, cache_dir: str | None, config: SponsorTrainConfig
) -> SponsoredFit | None:
    """The head on ``prep``'s split: the training influencers' posts, validated on the validation
    influencers' (``features`` (N, F) the profiler's: rows of ``prep.table``, or of its feature
    store, whose own flags are then the labels)."""
    labels = prepared_sponsorship(prep, cache_dir)
    train_rows = post_rows(prep.bags, prep.split["train"])
    val_rows = post_rows(prep.bags, prep.split["val"])
    return fit_sponsored_head(features, labels.disclosed, train_rows, val_rows, config)
