"""Post encoders: text (any local Hugging Face encoder folder) and image (torchvision backbones, a
Hugging Face vision encoder, or the compact CNN trained here), and batched feature extraction.

Importing this package does not import torch; the encoder modules do.
"""

from training.interface import PostInput, PostStep

__all__ = ["PostInput", "PostStep"]
