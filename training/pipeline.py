"""From a dataset folder to post features, split and bags: the shared first half of `scout train`
and `scout evaluate`.

Stages, in order:
  1. read every post once (cached post table), influencer labels, the held-out split; with
     ``FeatureConfig.sample``, only the posts of a seeded sample of the influencers
     (``training.dataset.sample``), each keeping its part of the copy's split;
  2. text features with the text encoder (cached);
  3. image encoder: the given pretrained backbone, or the compact CNN trained on the training
     influencers' post images (cached by dataset, config and split), or the pretrained backbone
     with its last blocks tuned on them (``training.encoders.finetune``), then image features
     (cached).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.bags import InfluencerBags, build_bags, post_rows, split_bags
from training.dataset.fingerprint import dataset_fingerprint
from training.dataset.reader import open_dataset
from training.dataset.sample import InfluencerSample, SampleConfig, draw_sample
from training.devices import resolve_device
from training.encoders.compact_cnn import CNNTrainConfig, CompactCNNConfig, train_compact_cnn
from training.encoders.features import (
    FeatureCache,
    PostTable,
    decode_table_pixels,
    image_features,
    load_post_table,
    text_features,
)
from training.encoders.finetune import FinetuneTrainConfig, tune_image_tower
from training.encoders.image import ImageEncoder, ImageEncoderConfig
from training.encoders.pixels import TablePixels
from training.encoders.text import TextEncoder, TextEncoderConfig
from training.model_dir import MODALITIES
from training.store.manifest import IMAGE_WEIGHTS_FILE
from training.store.read import FeatureStore, StoredFeatures, open_store

log = logging.getLogger(__name__)

DatasetPath = str | Path | Sequence[str | Path]


@dataclass(frozen=True)
class FeatureConfig:
    text: TextEncoderConfig = TextEncoderConfig()
    image: ImageEncoderConfig = ImageEncoderConfig()
    cnn: CompactCNNConfig = CompactCNNConfig()
    cnn_train: CNNTrainConfig = CNNTrainConfig()
    finetune: FinetuneTrainConfig = FinetuneTrainConfig()  # used when image.finetune_blocks > 0
    cache_dir: str | None = "build/cache/features"
    device: str = "auto"
    seed: int = 0  # the split of a copy without world.json
    sample: SampleConfig | None = None  # read only a seeded sample of the influencers

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        return cls(
            text=TextEncoderConfig(**data["text"]),
            image=ImageEncoderConfig(**data["image"]),
            cnn=CompactCNNConfig(**data["cnn"]),
            cnn_train=CNNTrainConfig(**data["cnn_train"]),
            finetune=FinetuneTrainConfig.from_dict(data.get("finetune")),
            cache_dir=data.get("cache_dir"),
            device=data.get("device", "auto"),
            seed=data.get("seed", 0),
            sample=SampleConfig(**data["sample"]) if data.get("sample") else None,
        )


@dataclass
class Prepared:
    """Everything the profiler and the baselines train and are evaluated on: either in memory
    (``table`` and ``blocks``, from ``prepare``) or in a feature store (``store``, from
    ``prepare_from_store``: no table, features read batch by batch)."""

    roots: list[Path]
    table: PostTable | None
    bags: InfluencerBags
    split: dict[str, np.ndarray]  # train / val / test -> bag indices
    blocks: dict[str, np.ndarray]  # modality -> (N, D) float32 features of every table row
    text: TextEncoderConfig | None
    image: ImageEncoderConfig | None
    image_state: dict[str, torch.Tensor] = field(default_factory=dict)
    cnn_losses: list[float] = field(default_factory=list)
    store: FeatureStore | None = None
    sample: InfluencerSample | None = None  # the influencers read, when not the whole copy

    def features(self, modalities: Sequence[str]) -> np.ndarray | StoredFeatures:
        """(N, F) with the blocks in MODALITIES order."""
        ordered = tuple(m for m in MODALITIES if m in modalities)
        if self.store is not None:
            return self.store.features(ordered)
        return np.concatenate([self.blocks[m] for m in ordered], axis=1)

    def dim(self, modality: str) -> int:
        """The width of a modality's features (0 when there are none)."""
        if self.store is not None:
            return self.store.manifest.dims.get(modality, 0)
        return self.blocks[modality].shape[1] if modality in self.blocks else 0

    @property
    def posts(self) -> int:
        return len(self.store.rows) if self.store is not None else len(self.table or ())


def _roots(path: DatasetPath) -> list[Path]:
    return [Path(path)] if isinstance(path, str | Path) else [Path(p) for p in path]


def _topics(roots: list[Path]) -> dict[str, str | None]:
    from training.synth.meta import load_world_meta

    for root in roots:
        meta = load_world_meta(root)
        if meta is not None:
            return {t.post_id: t.category for truths in meta.posts.values() for t in truths}
    return {}


def _cache(config: FeatureConfig, roots: list[Path], sample: InfluencerSample | None) -> FeatureCache:
    """The feature cache of the copy, or of a sample of it (its own post table, features, CNN)."""
    key = dataset_fingerprint(roots)
    return FeatureCache(config.cache_dir, key if sample is None else f"{key}-sample-{sample.key}")


def prepare(
    dataset: DatasetPath,
    config: FeatureConfig = FeatureConfig(),
    image_state: dict[str, torch.Tensor] | None = None,
    progress: bool = True,
) -> Prepared:
    """Stages 1-3 above. ``image_state`` (e.g. a model folder's compact CNN) skips CNN training.
    With ``config.sample`` every stage sees only the sampled influencers, as if the copy held
    no others: memory and time follow the sample, not the copy."""
    roots = _roots(dataset)
    device = resolve_device(config.device)
    sample = None if config.sample is None else draw_sample(roots, config.sample, split_seed=config.seed)
    cache = _cache(config, roots, sample)
    with open_dataset(roots, influencers=None if sample is None else sample.names) as ds:
        table = load_post_table(ds, cache)
        labels = {r.username: r.category for r in ds.influencers()}
        bags = build_bags(table, labels, _topics(roots))
        if sample is None:
            split = split_bags(bags, roots, seed=config.seed)
        else:  # the copy's split, not one of the sample's own (training.dataset.sample says why)
            split = sample.split_of(bags.names)
        text_enc = TextEncoder(config.text, device=device)
        blocks = {"text": text_features(table, text_enc, cache)}
        del text_enc
        cnn_losses: list[float] = []
        decoded = None
        if config.image.backbone == "compact_cnn" and image_state is None:
            decoded = decode_table_pixels(table, ds, config.cnn.image_size, cache)
            image_state, cnn_losses = _compact_cnn(
                table, bags, split, decoded, config, cache, device, progress
            )
        tuned = None
        if config.image.finetune_blocks and image_state is None:
            tuned = tune_image_tower(
                table, ds, bags, split, config.image, config.finetune, cache, device, progress
            )
            image_state, cnn_losses = tuned.state, tuned.losses
        image_enc = ImageEncoder(config.image, device=device, state_dict=image_state)
        if decoded is not None and decoded.size != image_enc.preprocess.size:
            decoded = None
        if tuned is not None:
            blocks["image"] = tuned.features
        else:
            blocks["image"] = image_features(table, image_enc, cache, decoded=decoded, dataset=ds)
    return Prepared(
        roots=roots,
        table=table,
        bags=bags,
        split=split,
        blocks=blocks,
        text=config.text,
        image=image_enc.config,  # with the weights file's sha256 when it read one
        image_state=image_enc.state_dict(),
        cnn_losses=cnn_losses,
        sample=sample,
    )


def prepare_from_store(dataset: DatasetPath, store: str | Path, seed: int = 0) -> Prepared:
    """Bags, split and features from a feature store written from ``dataset`` (`scout features`):
    only the influencer list is read from the copy; features stay on disk until a batch reads them."""
    from safetensors.torch import load_file

    roots = _roots(dataset)
    opened = open_store(store, roots)
    with open_dataset(roots) as ds:
        labels = {r.username: r.category for r in ds.influencers()}
        order = ds.usernames()
    bags = opened.bags(labels, order, _topics(roots))
    manifest = opened.manifest
    weights = opened.path / IMAGE_WEIGHTS_FILE
    log.info("features from store %s: %d posts of %d influencers", opened.path, manifest.posts, len(bags))
    return Prepared(
        roots=roots,
        table=None,
        bags=bags,
        split=split_bags(bags, roots, seed=seed),
        blocks={},
        text=TextEncoderConfig.from_dict(manifest.text) if manifest.text else None,
        image=ImageEncoderConfig.from_dict(manifest.image) if manifest.image else None,
        image_state=load_file(str(weights)) if manifest.image_weights else {},
        store=opened,
    )


def for_splits(
    prep: Prepared,
    config: FeatureConfig,
    splits: Sequence[dict[str, np.ndarray]],
    progress: bool = True,
    refit_image: bool = True,
) -> Iterator[Prepared]:
    """``prep`` once per split (e.g. cross-validation folds). A pretrained image backbone is shared;
    the compact CNN is trained again on each split's training influencers (cached per split), since
    features from a CNN that saw a test influencer's labelled images would flatter it.
    ``refit_image=False`` keeps ``prep``'s image block (for a comparison that never reads it)."""
    if config.image.backbone != "compact_cnn" or not refit_image or prep.store is not None:
        # (a store's image features are fixed: the comparison reads what the store holds)
        for split in splits:
            yield replace(prep, split=split)
        return
    device = resolve_device(config.device)
    cache = _cache(config, prep.roots, prep.sample)
    names = None if prep.sample is None else prep.sample.names
    with (
        open_dataset(prep.roots, influencers=names) as ds,
        decode_table_pixels(prep.table, ds, config.cnn.image_size, cache) as decoded,
    ):
        for split in splits:
            state, losses = _compact_cnn(
                prep.table, prep.bags, split, decoded, config, cache, device, progress
            )
            encoder = ImageEncoder(config.image, device=device, state_dict=state)
            same_size = decoded.size == encoder.preprocess.size
            image = image_features(
                prep.table, encoder, cache, decoded=decoded if same_size else None, dataset=ds
            )
            yield replace(
                prep,
                split=split,
                blocks={**prep.blocks, "image": image},
                image_state=encoder.state_dict(),
                cnn_losses=losses,
            )


def _compact_cnn(
    table: PostTable,
    bags: InfluencerBags,
    split: dict[str, np.ndarray],
    decoded: TablePixels,
    config: FeatureConfig,
    cache: FeatureCache,
    device: torch.device,
    progress: bool,
) -> tuple[dict[str, torch.Tensor], list[float]]:
    """Stage 1: the compact CNN on the training influencers' post images, each labelled with its
    influencer's category. Cached: the same dataset, config and split reuse the weights."""
    from safetensors.torch import load_file, save_file

    rows = post_rows(bags, split["train"])
    bag_of_row = np.repeat(split["train"], bags.counts()[split["train"]])
    present = decoded.present
    rows, bag_of_row = rows[present[rows]], bag_of_row[present[rows]]
    split_hash = hashlib.sha256(rows.tobytes()).hexdigest()[:16]
    key = cache.key("cnn", {"cnn": asdict(config.cnn), "train": asdict(config.cnn_train), "rows": split_hash})
    path = None if cache.root is None else cache.root / f"{key}.safetensors"
    if path is not None and path.is_file():
        log.info("compact CNN from cache %s", path)
        return load_file(str(path)), []
    log.info("stage 1: training the compact CNN on %d post images", len(rows))
    net, losses = train_compact_cnn(
        decoded.rows,
        bags.labels[bag_of_row],
        config.cnn,
        config.cnn_train,
        device=device,
        progress=progress,
        rows=rows,
    )
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    if path is not None:
        save_file(state, str(path))
    return state, losses
