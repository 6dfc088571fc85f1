"""The sponsored-post head: the probability that a post is a paid post, disclosed or not, from the
same post features f = [image | text] the profiler reads (the text block never sees a disclosure
marker: ``training.encoders.text.post_text`` masks them).

Positive-unlabelled learning, after Elkan and Noto ("Learning classifiers from only positive and
unlabeled data", KDD '08). The only paid posts a copy names are the disclosed ones (the
paid-partnership tag or a marker); every other post is unlabelled, a paid post left undisclosed
among them. The head is trained as a "non-traditional" classifier g(f) = P(disclosed | f) with
every unlabelled post as a negative; if disclosure does not depend on what the post shows (the
"selected completely at random" assumption, which the synthetic world holds by construction and a
real copy only approximately), then g(f) = c · P(paid | f) with c = P(disclosed | paid), the
label frequency. c is estimated as the mean of g over disclosed posts held out from training (the
validation influencers'), and

    P(paid | f)                   = min(1, g / c)                    (``probability``)
    P(paid | f, not disclosed)    = (1 − c) / c · g / (1 − g)        (``undisclosed_probability``)

The second is the one to threshold when asking "is this undisclosed post an ad?"; both rank posts
as g does. Why this and not nnPU: with the rare positives of sponsorship (a few percent of posts)
the biased classifier trains stably with the plain cross-entropy, its one extra number c is
measured, not assumed (nnPU needs the class prior given), and the ranking, which average
precision scores, is g's either way.

The network: the features standardised with the training posts' mean and std, one hidden layer
(ReLU, dropout), one logit. Saved as ``sponsorship.json`` (config, c) and
``sponsorship.safetensors`` (weights, standardisation included) in the model folder.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from training.errors import ModelFormatError

SPONSORSHIP_FILE = "sponsorship.json"
SPONSORSHIP_WEIGHTS = "sponsorship.safetensors"
_EPS = 1e-6


@dataclass(frozen=True)
class SponsoredHeadConfig:
    feature_dim: int
    hidden_dim: int = 64
    dropout: float = 0.2
    label_frequency: float = 1.0  # c = P(disclosed | paid), estimated on held-out disclosed posts

    def __post_init__(self) -> None:
        if not 0.0 < self.label_frequency <= 1.0:
            raise ValueError(f"label_frequency must be in (0, 1], got {self.label_frequency}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SponsoredHeadConfig:
        return cls(**data)


class SponsoredHead(nn.Module):
    """f (n, F) -> the logit of g(f) = P(disclosed | f); ``probability`` turns it into P(paid | f)."""

    def __init__(self, config: SponsoredHeadConfig) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("feature_mean", torch.zeros(config.feature_dim))
        self.register_buffer("feature_std", torch.ones(config.feature_dim))
        self.net = nn.Sequential(
            nn.Linear(config.feature_dim, config.hidden_dim),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden_dim, 1),
        )

    def set_feature_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(std.clamp(min=1e-4))

    def with_label_frequency(self, c: float) -> SponsoredHead:
        """This head with its label frequency set (clipped into (0, 1])."""
        self.config = replace(self.config, label_frequency=float(min(max(c, _EPS), 1.0)))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, F) -> (n,) logits of P(disclosed | f)."""
        z = (x - self.feature_mean) / self.feature_std
        return self.net(z).squeeze(-1)

    @torch.inference_mode()
    def disclosed_probability(self, features: np.ndarray) -> np.ndarray:
        """g(f) = P(disclosed | f): (n, F) float32 -> (n,) float32."""
        assert features.ndim == 2 and features.shape[1] == self.config.feature_dim, (
            f"features must be (n, {self.config.feature_dim}), got {features.shape}"
        )
        device = self.feature_mean.device
        x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)).to(device)
        was_training = self.training
        self.eval()
        g = torch.sigmoid(self(x)).float().cpu().numpy()
        self.train(was_training)
        return g.astype(np.float32)

    def probability(self, features: np.ndarray) -> np.ndarray:
        """P(the post is paid, disclosed or not | f): (n, F) float32 -> (n,) float32 in [0, 1]."""
        g = self.disclosed_probability(features)
        return np.minimum(g / np.float32(self.config.label_frequency), 1.0).astype(np.float32)

    def undisclosed_probability(self, features: np.ndarray) -> np.ndarray:
        """P(paid | f, not disclosed), for posts that carry no disclosure: (n,) float32 in [0, 1]."""
        g = self.disclosed_probability(features).astype(np.float64)
        return undisclosed_from_disclosed(g, self.config.label_frequency).astype(np.float32)


def undisclosed_from_disclosed(g: np.ndarray, c: float) -> np.ndarray:
    """Elkan and Noto's weight: P(paid | f, unlabelled) = (1 − c)/c · g/(1 − g), clipped to [0, 1]."""
    g = np.clip(np.asarray(g, dtype=np.float64), 0.0, 1.0 - _EPS)
    return np.clip((1.0 - c) / c * g / (1.0 - g), 0.0, 1.0)


def save_head(folder: Path, head: SponsoredHead | None, training: dict[str, Any] | None = None) -> None:
    """Write (or, for None, remove) the head's two files in a model folder."""
    files = (folder / SPONSORSHIP_FILE, folder / SPONSORSHIP_WEIGHTS)
    if head is None:
        for path in files:
            path.unlink(missing_ok=True)
        return
    state = {k: v.detach().cpu().contiguous() for k, v in head.state_dict().items()}
    save_file(state, str(files[1]))
    body = {"config": head.config.to_dict(), "training": training or {}}
    files[0].write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")


def load_head(folder: Path, device: str | torch.device = "cpu") -> SponsoredHead | None:
    """The head of a model folder, or None when it has none (folders written before it load fine)."""
    config_path, weights = folder / SPONSORSHIP_FILE, folder / SPONSORSHIP_WEIGHTS
    if not config_path.is_file():
        return None
    if not weights.is_file():
        raise ModelFormatError(f"{folder} has {SPONSORSHIP_FILE} but lacks {SPONSORSHIP_WEIGHTS}; retrain it")
    head = SponsoredHead(SponsoredHeadConfig.from_dict(json.loads(config_path.read_text())["config"]))
    head.load_state_dict(load_file(str(weights)))
    return head.eval().to(device)
