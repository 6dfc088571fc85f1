"""The compact CNN: the default image encoder when no pretrained image weights are on the machine.

First training stage: it learns the post-category task from post images alone (each post carries
its influencer's category, as the seed project fine-tuned Inception-v3 on post labels); its
penultimate layer then serves as the image feature.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from training.encoders.post_task import fit_post_task
from training.encoders.preprocess import HALF, Preprocess, normalize
from training.rowfile import ArrayRows, RowSource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompactCNNConfig:
    image_size: int = 32  # the synthetic world's motifs survive 32 px; CPU training stays in minutes
    width: int = 16
    feature_dim: int = 128
    num_classes: int = 9

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> CompactCNNConfig:
        """The architecture is fully recoverable from its stored weights."""
        return cls(
            image_size=int(state["image_size"]),
            width=int(state["stages.0.0.weight"].shape[0]),
            feature_dim=int(state["feature.weight"].shape[0]),
            num_classes=int(state["classifier.weight"].shape[0]),
        )


def _stage(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class CompactCNN(nn.Module):
    """(n, 3, S, S) -> forward: (n, feature_dim) features; logits(): (n, num_classes)."""

    def __init__(self, config: CompactCNNConfig) -> None:
        super().__init__()
        w = config.width
        self.config = config
        self.register_buffer("image_size", torch.tensor(config.image_size))
        self.stages = nn.Sequential(
            _stage(3, w), _stage(w, 2 * w), _stage(2 * w, 4 * w), _stage(4 * w, 4 * w)
        )
        self.feature = nn.Linear(4 * w, config.feature_dim)
        self.dropout = nn.Dropout(0.2)
        self.classifier = nn.Linear(config.feature_dim, config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.stages(x).mean(dim=(2, 3))  # (n, 4w): global average pool
        return torch.relu(self.feature(z))  # (n, feature_dim)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.forward(x)))  # (n, num_classes)


@dataclass(frozen=True)
class CNNTrainConfig:
    epochs: int = 4
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    max_images_per_epoch: int = 24_000  # a fresh random sample each epoch bounds CPU time


def train_compact_cnn(
    images: RowSource | np.ndarray,
    labels: np.ndarray,
    config: CompactCNNConfig,
    train: CNNTrainConfig = CNNTrainConfig(),
    device: str | torch.device = "cpu",
    progress: bool = True,
    rows: np.ndarray | None = None,
) -> tuple[CompactCNN, list[float]]:
    """Train on (N, 3, S, S) uint8 images (a ``RowSource`` such as a ``RowFile``, or an array) with
    int labels; ``rows`` picks the training images among them (default: all), ``labels`` has one per
    picked image. Each batch's images are read with ``take``: memory holds a batch, not the images.
    Returns the net (eval mode, CPU) and the mean training loss of each epoch."""
    source = ArrayRows(images) if isinstance(images, np.ndarray) else images
    size = config.image_size
    assert source.row_shape == (3, size, size) and source.dtype == np.uint8, (
        f"images must be (N, 3, {size}, {size}) uint8, got rows of {source.row_shape} {source.dtype}"
    )
    picked = np.arange(len(source), dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    assert labels.shape == (len(picked),), "labels must be (n,), one per training image"
    device = torch.device(device)
    torch.manual_seed(train.seed)
    rng = np.random.default_rng(train.seed)
    pre = Preprocess(size, HALF, HALF)
    net = CompactCNN(config).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=train.lr, weight_decay=train.weight_decay)
    per_epoch = min(len(picked), train.max_images_per_epoch)
    steps = train.epochs * max(1, -(-per_epoch // train.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=train.lr, total_steps=steps)
    all_labels = torch.from_numpy(labels.astype(np.int64))

    def forward(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch = torch.from_numpy(source.take(picked[idx.numpy()]))  # (b, 3, S, S) uint8
        x = normalize(batch.to(device), pre)
        flip = torch.rand(x.shape[0], device=device) < 0.5
        x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
        return net.logits(x), all_labels[idx].to(device)

    losses = fit_post_task(
        name="image CNN",
        epochs=train.epochs,
        order=lambda: torch.from_numpy(rng.permutation(len(picked))[: train.max_images_per_epoch]),
        batch_size=train.batch_size,
        forward=forward,
        opt=opt,
        train_mode=net.train,
        sched=sched,
        progress=progress,
    )
    return net.eval().cpu(), losses
