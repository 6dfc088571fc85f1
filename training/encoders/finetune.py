"""Fine-tuning the last blocks of a pretrained torchvision tower on the post-category task.

A stage before feature extraction, like the compact CNN's: the training influencers' post images,
each labelled with its influencer's category, train the last ``finetune_blocks`` modules of the
tower's ``features`` stack, global pooling and a linear post-category head (dropped afterwards).
To stay cheap on a CPU the frozen trunk (every module before those) runs once over every post
image and its output is cached; the tuned top then trains, and gives every post's feature, from
those cached tensors. Only the tuned modules' weights are kept: the trunk is read again from the
packaged weights file, whose sha256 the image encoder config records.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from training.bags import InfluencerBags, post_rows
from training.dataset.reader import InstagramDataset
from training.encoders.features import FeatureCache, PostTable, decode_table_images, image_cache_key
from training.encoders.image import ImageEncoder, ImageEncoderConfig, build_backbone, pretrained_state
from training.encoders.post_task import fit_post_task
from training.encoders.preprocess import Preprocess, normalize

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FinetuneTrainConfig:
    epochs: int = 3
    batch_size: int = 64
    lr: float = 3e-4
    weight_decay: float = 1e-4
    seed: int = 0
    chunk: int = 256  # images decoded and run through the trunk at a time

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> FinetuneTrainConfig:
        return cls(**(data or {}))


@dataclass
class TunedTower:
    """The stage's result: the tuned modules' weights, every post's (N, D) image feature (zeros
    for posts without a readable image) and the mean training loss of each epoch."""

    state: dict[str, torch.Tensor]
    features: np.ndarray
    losses: list[float]


class _Top(nn.Module):
    """The tuned modules, then global average pooling: (n, C, h, w) trunk output -> (n, D)."""

    def __init__(self, modules: nn.Sequential) -> None:
        super().__init__()
        self.blocks = modules

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return nn.functional.adaptive_avg_pool2d(self.blocks(z), 1).flatten(1)


def split_tower(net: nn.Module, blocks: int) -> tuple[nn.Sequential, nn.Sequential]:
    """(trunk, top) of a torchvision network with a ``features`` stack: its modules before the
    last ``blocks``, and those last ones. They share the network's parameters."""
    features = net.features
    assert isinstance(features, nn.Sequential) and 0 < blocks < len(features), (
        f"cannot tune {blocks} of {len(features)} feature modules"
    )
    return features[: len(features) - blocks], features[len(features) - blocks :]


def _subtable(table: PostTable, rows: np.ndarray) -> PostTable:
    return PostTable(**{f.name: getattr(table, f.name)[rows] for f in fields(PostTable)})


@torch.inference_mode()
def _trunk_pass(
    table: PostTable,
    dataset: InstagramDataset,
    trunk: nn.Module,
    pre: Preprocess,
    device: torch.device,
    chunk: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The trunk over every post's image: (N, C, h, w) float32 (zeros where none) and (N,) bool."""
    trunk.eval()
    probe = torch.zeros(1, 3, pre.size, pre.size, dtype=torch.uint8)
    shape = tuple(trunk(normalize(probe.to(device), pre)).shape[1:])
    out = np.zeros((len(table), *shape), dtype=np.float32)
    present = np.zeros(len(table), dtype=bool)
    for start in tqdm(range(0, len(table), chunk), desc="image trunk", unit="chunk", disable=None):
        rows = np.arange(start, min(start + chunk, len(table)))
        pixels, has = decode_table_images(_subtable(table, rows), dataset, pre.size)
        present[rows] = has
        if has.any():
            x = normalize(torch.from_numpy(pixels[has]).to(device), pre)
            out[rows[has]] = trunk(x).float().cpu().numpy()
    return out, present


def _train_top(
    top: _Top,
    head: nn.Linear,
    inputs: np.ndarray,
    labels: np.ndarray,
    train: FinetuneTrainConfig,
    device: torch.device,
    progress: bool,
) -> list[float]:
    """Cross-entropy on the post labels; batch norms keep their ImageNet statistics (eval mode),
    as small batches would estimate them badly."""
    torch.manual_seed(train.seed)
    rng = np.random.default_rng(train.seed)
    params = [*top.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=train.lr, weight_decay=train.weight_decay)
    x_all = torch.from_numpy(inputs)
    y_all = torch.from_numpy(labels.astype(np.int64))

    def train_mode() -> None:
        top.train()
        for module in top.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()

    def forward(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = y_all[idx].to(device)
        return head(top(x_all[idx].to(device))), y

    losses = fit_post_task(
        name="image tune",
        epochs=train.epochs,
        order=lambda: torch.from_numpy(rng.permutation(len(inputs))),
        batch_size=train.batch_size,
        forward=forward,
        opt=opt,
        train_mode=train_mode,
        progress=progress,
    )
    top.eval()
    return losses


@torch.inference_mode()
def _top_features(
    top: _Top, inputs: np.ndarray, present: np.ndarray, device: torch.device, chunk: int
) -> np.ndarray:
    rows = np.flatnonzero(present)
    dim = int(top(torch.from_numpy(inputs[:1]).to(device)).shape[1]) if len(inputs) else 0
    out = np.zeros((len(inputs), dim), dtype=np.float32)
    for start in range(0, len(rows), chunk):
        sel = rows[start : start + chunk]
        out[sel] = top(torch.from_numpy(inputs[sel]).to(device)).float().cpu().numpy()
    return out


def tune_image_tower(
    table: PostTable,
    dataset: InstagramDataset,
    bags: InfluencerBags,
    split: dict[str, np.ndarray],
    config: ImageEncoderConfig,
    train: FinetuneTrainConfig,
    cache: FeatureCache,
    device: torch.device,
    progress: bool = True,
) -> TunedTower:
    """The stage: trunk once over every post image (cached by dataset and tower), the top tuned on
    the training influencers' posts (cached by dataset, tower, training config and split), then
    every post's feature through the tuned top (cached where ``image_features`` looks for it)."""
    from safetensors.torch import load_file, save_file

    packaged, digest = pretrained_state(config)
    net, pre = build_backbone(config, packaged)
    net.eval().to(device)
    trunk, top_modules = split_tower(net, config.finetune_blocks)
    tower = {**asdict(config), "weights_sha256": digest, "size": pre.size}
    trunk_key = cache.key("trunk", tower)
    computed: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def run(part: int) -> np.ndarray:
        if "pass" not in computed:
            log.info("stage 1: the %s trunk over %d post images", config.backbone, len(table))
            computed["pass"] = _trunk_pass(table, dataset, trunk, pre, device, train.chunk)
        return computed["pass"][part]

    present = cache.array(f"{trunk_key}-present", lambda: run(1))
    inputs = cache.array(trunk_key, lambda: run(0))
    computed.clear()  # the cache holds them now; keep one copy in memory

    rows = post_rows(bags, split["train"])
    bag_of_row = np.repeat(split["train"], bags.counts()[split["train"]])
    rows, bag_of_row = rows[present[rows]], bag_of_row[present[rows]]
    split_hash = hashlib.sha256(rows.tobytes()).hexdigest()[:16]
    key = cache.key("finetune", {"tower": tower, "train": asdict(train), "rows": split_hash})
    path = None if cache.root is None else cache.root / f"{key}.safetensors"
    top = _Top(top_modules)
    prefixes = config.tuned_prefixes
    losses: list[float] = []
    if path is not None and path.is_file():
        log.info("tuned image blocks from cache %s", path)
        net.load_state_dict(load_file(str(path)), strict=False)
    else:
        log.info("stage 1: tuning the last %d blocks on %d post images", config.finetune_blocks, len(rows))
        with torch.no_grad():
            dim = int(top(torch.from_numpy(inputs[:1]).to(device)).shape[1])
        head = nn.Linear(dim, len(bags.categories)).to(device)
        losses = _train_top(top, head, inputs[rows], bags.labels[bag_of_row], train, device, progress)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items() if k.startswith(prefixes)}
    if path is not None and not path.is_file():
        save_file(state, str(path))
    top.eval()
    encoder = ImageEncoder(config, device=device, state_dict=state)
    features = cache.array(
        image_cache_key(cache, encoder), lambda: _top_features(top, inputs, present, device, train.chunk)
    )
    return TunedTower(state=state, features=features, losses=losses)
