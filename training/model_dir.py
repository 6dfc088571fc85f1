"""The self-describing model folder, and ``ScoutModel``: the inference pieces the streaming job uses.

A folder holds one JSON config per stage, weights in safetensors (never pickles), the training
settings, metrics and library versions::

    model.json                 format, version id, labels, feature layout, dims, window, versions
    text_encoder.json          TextEncoderConfig (the encoder folder is referenced, not copied)
    image_encoder.json         ImageEncoderConfig: the backbone, and for a pretrained torchvision
                               tower the sha256 of its weights file (stored by reference, checked
                               when the encoder loads)
    image_encoder.safetensors  image backbone weights (the compact CNN, trained here)
    profiler.json              ProfilerConfig (projection, attention, heads)
    profiler.safetensors       profiler weights, feature standardisation included
    calibration.json           post-count temperature of the influencer probabilities (optional)
    sponsorship.json           the sponsored-post head's config and label frequency (optional)
    sponsorship.safetensors    its weights (training.sponsorship.head)
    training.json              the TrainConfig that produced it
    metrics.json               evaluation results (not part of the version)

The version id is a content hash of the stage configs and weights: the same model always has the
same version, and any change to them gives a new one (the streaming state is tied to it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from training.calibration import CALIBRATION_FILE, Calibration, load_calibration, save_calibration
from training.devices import resolve_device
from training.encoders.image import ImageEncoder, ImageEncoderConfig
from training.encoders.text import TextEncoder, TextEncoderConfig
from training.errors import ModelFormatError, ModelNotFoundError
from training.interface import PostInput, PostStep, softmax_pool
from training.model_meta import FORMAT, FORMAT_VERSION, read_model_meta
from training.model_meta import read_json as _read_json
from training.profiler import PostAttentiveProfiler, ProfilerConfig
from training.sponsorship.head import (
    SPONSORSHIP_FILE,
    SPONSORSHIP_WEIGHTS,
    SponsoredHead,
    load_head,
    save_head,
)

log = logging.getLogger(__name__)

MODALITIES = ("image", "text")  # order of the feature blocks in f = [image | text]
_VERSIONED = (
    "text_encoder.json",
    "image_encoder.json",
    "image_encoder.safetensors",
    "profiler.json",
    "profiler.safetensors",
    CALIBRATION_FILE,
    SPONSORSHIP_FILE,
    SPONSORSHIP_WEIGHTS,
)
_LIBRARIES = ("torch", "torchvision", "transformers", "safetensors", "numpy", "pyspark", "influencer-scout")


@dataclass
class ModelParts:
    """Everything a trained model consists of, in memory."""

    profiler: PostAttentiveProfiler
    labels: tuple[str, ...]
    modalities: tuple[str, ...]  # subset of MODALITIES, in that order
    window: int  # posts per influencer seen in training
    text: TextEncoderConfig | None = None
    text_dim: int = 0
    image: ImageEncoderConfig | None = None
    image_dim: int = 0
    image_state: dict[str, torch.Tensor] = field(default_factory=dict)
    calibration: Calibration | None = None  # None: probabilities are the network's softmax
    sponsorship: SponsoredHead | None = None  # the sponsored-post head on the same features
    sponsorship_training: dict[str, Any] = field(default_factory=dict)  # its fit summary

    def __post_init__(self) -> None:
        assert self.modalities and all(m in MODALITIES for m in self.modalities), (
            f"bad modalities {self.modalities}"
        )
        assert tuple(m for m in MODALITIES if m in self.modalities) == tuple(self.modalities), (
            "modality order"
        )
        assert ("text" in self.modalities) == (self.text is not None), "text config iff text modality"
        assert ("image" in self.modalities) == (self.image is not None), "image config iff image modality"
        dims = (self.image_dim if "image" in self.modalities else 0) + (
            self.text_dim if "text" in self.modalities else 0
        )
        assert dims == self.profiler.config.feature_dim, f"encoder dims {dims} != profiler feature_dim"
        assert len(self.labels) == self.profiler.config.num_classes, "one label per profiler class"
        assert self.sponsorship is None or self.sponsorship.config.feature_dim == dims, (
            f"sponsored head reads {self.sponsorship.config.feature_dim} features, the model gives {dims}"
        )
        assert self.profiler.config.pooling != "mean_features", (
            "mean_features pooling is an evaluation baseline: its embedding is not a pooling of h, so it "
            "cannot be served incrementally; export attention or mean pooling"
        )


def library_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            found[name] = package_version(name)
        except PackageNotFoundError:
            continue
    return found


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _content_version(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in _VERSIONED:
        path = folder / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def save_model(
    out_dir: str | Path,
    parts: ModelParts,
    training: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
) -> str:
    """Write the model folder (created if needed, files replaced) and return its version id."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    _write_json(
        folder / "text_encoder.json",
        {"config": parts.text.to_dict() if parts.text else None, "dim": parts.text_dim},
    )
    _write_json(
        folder / "image_encoder.json",
        {"config": parts.image.to_dict() if parts.image else None, "dim": parts.image_dim},
    )
    weights_file = folder / "image_encoder.safetensors"
    if parts.image_state:
        save_file({k: v.contiguous() for k, v in parts.image_state.items()}, str(weights_file))
    elif weights_file.exists():
        weights_file.unlink()
    _write_json(folder / "profiler.json", parts.profiler.config.to_dict())
    state = {k: v.detach().cpu().contiguous() for k, v in parts.profiler.state_dict().items()}
    save_file(state, str(folder / "profiler.safetensors"))
    _write_json(folder / "training.json", training or {})
    if parts.calibration is not None:
        save_calibration(folder, parts.calibration)
    elif (folder / CALIBRATION_FILE).exists():
        (folder / CALIBRATION_FILE).unlink()
    save_head(folder, parts.sponsorship, parts.sponsorship_training)
    if metrics is not None:
        write_metrics(folder, metrics)
    version = _content_version(folder)
    _write_json(
        folder / "model.json",
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "version": version,
            "labels": list(parts.labels),
            "modalities": list(parts.modalities),
            "feature_dim": parts.profiler.config.feature_dim,
            "hidden_dim": parts.profiler.config.hidden_dim,
            "pooling": parts.profiler.config.pooling,
            "window": parts.window,
            "library_versions": library_versions(),
        },
    )
    log.info("model %s saved to %s", version, folder)
    return version


def write_metrics(folder: str | Path, metrics: dict[str, Any]) -> None:
    _write_json(Path(folder) / "metrics.json", metrics)


class ScoutModel:
    """A loaded model folder. Encoders load lazily on the first ``encode`` (classification needs none)."""

    def __init__(
        self, folder: Path, device: str | torch.device = "auto", text_encoder_path: str | None = None
    ) -> None:
        self.folder = folder
        meta = read_model_meta(folder)
        actual = _content_version(folder)
        if actual != meta["version"]:
            raise ModelFormatError(
                f"{folder}: files changed since saving (version {meta['version']}, content {actual})"
            )
        self.version: str = meta["version"]
        self.labels: tuple[str, ...] = tuple(meta["labels"])
        self.modalities: tuple[str, ...] = tuple(meta["modalities"])
        self.window: int = int(meta["window"])
        self.library_versions: dict[str, str] = meta.get("library_versions", {})
        self.device = resolve_device(device)
        config = ProfilerConfig.from_dict(_read_json(folder / "profiler.json"))
        self.profiler = PostAttentiveProfiler(config)
        self.profiler.load_state_dict(load_file(str(folder / "profiler.safetensors")))
        self.profiler.eval().to(self.device)
        self.feature_dim: int = config.feature_dim
        self.hidden_dim: int = config.hidden_dim
        self.calibration: Calibration | None = load_calibration(folder)
        # the sponsored-post head, or None: .probability(features (n, F)) -> (n,) P(paid post)
        self.sponsorship: SponsoredHead | None = load_head(folder, self.device)
        text = _read_json(folder / "text_encoder.json")
        image = _read_json(folder / "image_encoder.json")
        self._text_config = TextEncoderConfig.from_dict(text["config"]) if text["config"] else None
        if self._text_config is not None and text_encoder_path is not None:
            self._text_config = TextEncoderConfig(
                **{**self._text_config.to_dict(), "path": text_encoder_path}
            )
        self._image_config = ImageEncoderConfig.from_dict(image["config"]) if image["config"] else None
        self._dims = {"text": int(text["dim"]), "image": int(image["dim"])}
        self._text: TextEncoder | None = None
        self._image: ImageEncoder | None = None

    @property
    def metrics(self) -> dict[str, Any]:
        path = self.folder / "metrics.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def encoders(self) -> tuple[TextEncoder | None, ImageEncoder | None]:
        """The model's text and image encoders (None for a modality it does not use), loaded once."""
        return self._encoders()

    def _encoders(self) -> tuple[TextEncoder | None, ImageEncoder | None]:
        if self._text_config is not None and self._text is None:
            self._text = TextEncoder(self._text_config, device=self.device)
            if self._text.dim != self._dims["text"]:
                raise ModelFormatError(
                    f"text encoder {self._text.folder} gives {self._text.dim} dims, the model was trained on "
                    f"{self._dims['text']}; point it at the encoder the model was trained with"
                )
        if self._image_config is not None and self._image is None:
            weights = self.folder / "image_encoder.safetensors"
            state = load_file(str(weights)) if weights.is_file() else None
            if state is None and self._image_config.backbone == "compact_cnn":
                raise ModelNotFoundError(f"{weights} is missing; the model folder is incomplete")
            self._image = ImageEncoder(self._image_config, device=self.device, state_dict=state)
        return self._text, self._image

    def encode(self, posts: Sequence[PostInput]) -> np.ndarray:
        """(n,) posts -> (n, F) float32 features, blocks in MODALITIES order."""
        text_enc, image_enc = self._encoders()
        blocks = []
        for modality in self.modalities:
            if modality == "image":
                assert image_enc is not None
                blocks.append(image_enc.encode([p.image for p in posts]))
            else:
                assert text_enc is not None
                blocks.append(text_enc.encode([p.text for p in posts]))
        return np.concatenate(blocks, axis=1) if posts else np.zeros((0, self.feature_dim), np.float32)

    @torch.inference_mode()
    def post_step(self, features: np.ndarray) -> PostStep:
        """(n, F) features -> h (n, H), scores (n,), post_probs (n, C), all float32."""
        assert features.ndim == 2 and features.shape[1] == self.feature_dim, (
            f"features must be (n, {self.feature_dim}), got {features.shape}"
        )
        x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)).to(self.device)
        h, scores, post_logits = self.profiler.post_step(x)
        return PostStep(
            h=h.float().cpu().numpy(),
            scores=scores.float().cpu().numpy(),
            post_probs=torch.softmax(post_logits, dim=-1).float().cpu().numpy(),
        )

    @torch.inference_mode()
    def classify(self, embeddings: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
        """(m, H) pooled embeddings -> (m, C) float32 category probabilities. With ``counts`` (m,),
        the posts each embedding pools, the folder's calibration tempers them by post count;
        without, they are the network's softmax."""
        assert embeddings.ndim == 2 and embeddings.shape[1] == self.hidden_dim, (
            f"embeddings must be (m, {self.hidden_dim}), got {embeddings.shape}"
        )
        e = torch.from_numpy(np.ascontiguousarray(embeddings, dtype=np.float32)).to(self.device)
        logits = self.profiler.classify(e).float().cpu().numpy()  # (m, C)
        if counts is None or self.calibration is None:
            return torch.softmax(torch.from_numpy(logits), dim=-1).numpy()
        return self.calibration.probabilities(logits, np.asarray(counts)).astype(np.float32)

    @property
    def calibrated(self) -> bool:
        """True when the folder holds a fitted calibration (probabilities given counts are calibrated)."""
        return self.calibration is not None and self.calibration.fitted_on > 0

    @staticmethod
    def pool(h: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Reference softmax pooling: h (n, H), scores (n,) -> (H,)."""
        return softmax_pool(h, scores)

    def profile(self, features: np.ndarray) -> np.ndarray:
        """All of one influencer's post features (n, F) -> (C,) category probabilities."""
        step = self.post_step(features)
        return self.classify(self.pool(step.h, step.scores)[None, :], np.array([len(features)]))[0]


def load_model(path: str | Path, device: str = "auto", text_encoder_path: str | None = None) -> ScoutModel:
    """Load a folder written by ``save_model``. ``text_encoder_path`` relocates the text encoder
    folder (e.g. on a machine where it lives elsewhere); it must give the same dimensions."""
    folder = Path(path)
    if not folder.is_dir():
        raise ModelNotFoundError(
            f"model folder {folder} does not exist; train one with `scout train DATASET --out {folder}`"
        )
    return ScoutModel(folder, device=device, text_encoder_path=text_encoder_path)
