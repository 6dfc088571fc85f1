"""The values exchanged between a trained model and the code that serves it.

Plain dataclasses over numpy arrays, importable without torch, so the streaming job can build
inputs and read outputs anywhere (driver, executors, tests) and only load torch where it embeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class PostInput:
    """One post as the encoders see it.

    ``text`` is the post's text as built by ``training.encoders.text.post_text`` (caption, hashtags,
    user tags). ``image`` holds the encoded image file (JPEG or any format Pillow reads); ``None``
    means the post has no usable image and gets the model's missing-image vector (all zeros).
    """

    text: str
    image: bytes | None = None


@dataclass(frozen=True, slots=True)
class PostStep:
    """What the profiler computes for each post on its own (no other post is needed).

    h:          (n, H) float32  projected post vectors, ReLU(W_p f + b_p)
    scores:     (n,)   float32  attention scores s = v . tanh(W_a h + b_a)
    post_probs: (n, C) float32  post-category probabilities
    """

    h: np.ndarray
    scores: np.ndarray
    post_probs: np.ndarray

    def __post_init__(self) -> None:
        n = self.h.shape[0]
        assert self.h.ndim == 2, f"h must be (n, H), got {self.h.shape}"
        assert self.scores.shape == (n,), f"scores must be ({n},), got {self.scores.shape}"
        assert self.post_probs.ndim == 2 and self.post_probs.shape[0] == n, (
            f"post_probs must be ({n}, C), got {self.post_probs.shape}"
        )


def softmax_pool(h: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Reference attention pooling: sum_j softmax(scores)_j h_j, computed in float64.

    h: (n, H), scores: (n,) -> (H,) float32. The incremental online-softmax state must match this.
    """
    assert h.ndim == 2 and scores.shape == (h.shape[0],), (
        f"pool expects h (n, H) and scores (n,), got {h.shape} and {scores.shape}"
    )
    assert h.shape[0] > 0, "cannot pool zero posts"
    s = scores.astype(np.float64)
    w = np.exp(s - s.max())
    w /= w.sum()
    return (w[:, None] * h.astype(np.float64)).sum(axis=0).astype(np.float32)
