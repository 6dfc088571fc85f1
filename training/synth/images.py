"""Procedural post images: a category motif (or a generic one) on a background, plus noise.

Motifs are drawn with a few PIL primitives so a compact CNN can learn them on CPU in minutes:
beauty lipsticks, a striped fashion garment, a dumbbell, a plate of food, a group of people,
a pet, a room with a window and a sofa, a landscape, abstract polygons for "other", and the
generic selfie, gift box and "link in bio" card. family/pet share one background, as do
interior/travel, so that (with the pair mixing of world.py) they are close in images.

A *styled* image has a clean background and a large centred motif; a *casual* one is darker,
cluttered, with a smaller off-centre motif. Everything is drawn at the target size (default 64 px).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageChops, ImageDraw

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels
Color = tuple[int, int, int]

MOTIFS = (
    "beauty",
    "fashion",
    "fitness",
    "food",
    "family",
    "pet",
    "interior",
    "travel",
    "other",
    "selfie",
    "giveaway",
    "link_in_bio",
)

# What an automatic alt text would say about each motif (image-derived, as on Instagram).
DESCRIPTIONS: dict[str, str] = {
    "beauty": "Image may contain: cosmetics",
    "fashion": "Image may contain: clothing",
    "fitness": "Image may contain: exercise equipment",
    "food": "Image may contain: food",
    "family": "Image may contain: people standing",
    "pet": "Image may contain: dog",
    "interior": "Image may contain: indoor, living room",
    "travel": "Image may contain: sky, mountain, outdoor",
    "other": "Image may contain: drawing",
    "selfie": "Image may contain: 1 person, closeup",
    "giveaway": "Image may contain: gift",
    "link_in_bio": "Image may contain: text",
}

_BACKGROUNDS: dict[str, Color] = {
    "beauty": (246, 220, 228),
    "fashion": (236, 234, 228),
    "fitness": (214, 224, 234),
    "food": (222, 196, 160),
    "family": (240, 226, 200),
    "pet": (240, 226, 200),
    "interior": (226, 222, 212),
    "travel": (226, 222, 212),
    "other": (200, 200, 210),
    "selfie": (210, 230, 240),
    "giveaway": (250, 240, 214),
    "link_in_bio": (236, 236, 244),
}
_SKIN: tuple[Color, ...] = ((241, 194, 160), (224, 172, 128), (198, 134, 92), (141, 85, 55))


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(rng.random())


def _pick(rng: np.random.Generator, options: tuple[Color, ...]) -> Color:
    return options[int(rng.integers(len(options)))]


def _hue(rng: np.random.Generator, base: Color, spread: int = 30) -> Color:
    r, g, b = (int(x * (2 * spread + 1)) - spread for x in rng.random(3).tolist())
    return (min(255, max(0, base[0] + r)), min(255, max(0, base[1] + g)), min(255, max(0, base[2] + b)))


def _beauty(d: ImageDraw.ImageDraw, rng: np.random.Generator, b: Box) -> None:
    x0, y0, x1, y1 = b
    n = int(rng.integers(2, 5))
    w = (x1 - x0) / n
    for i in range(n):
        cx = x0 + (i + 0.5) * w
        top = y0 + _u(rng, 0.15, 0.4) * (y1 - y0)
        shade = _pick(rng, ((200, 30, 70), (170, 20, 90), (230, 80, 120), (150, 10, 40)))
        d.rectangle((cx - 0.28 * w, top + 0.25 * (y1 - top), cx + 0.28 * w, y1), fill=(40, 30, 40))
        d.polygon(
            [
                (cx - 0.22 * w, top + 0.25 * (y1 - top)),
                (cx + 0.22 * w, top + 0.25 * (y1 - top)),
                (cx + 0.22 * w, top + 0.08 * (y1 - top)),
                (cx - 0.05 * w, top),
            ],
            fill=shade,
        )


def _fashion(d: ImageDraw.ImageDraw, rng: np.random.Generator, b: Box) -> None:
    x0, y0, x1, y1 = b
    cx, w, h = (x0 + x1) / 2, x1 - x0, y1 - y0
    a = _hue(rng, _pick(rng, ((30, 60, 160), (200, 160, 20), (20, 130, 90), (160, 30, 30))), 40)
    c = _hue(rng, (245, 245, 245), 10)
    bands = int(rng.integers(4, 8))
    for k in range(bands):
        t0, t1 = k / bands, (k + 1) / bands
        half0, half1 = 0.18 + 0.3 * t0, 0.18 + 0.3 * t1
        ya, yb = y0 + 0.1 * h + t0 * 0.9 * h, y0 + 0.1 * h + t1 * 0.9 * h
        d.polygon(
            [(cx - half0 * w, ya), (cx + half0 * w, ya), (cx + half1 * w, yb), (cx - half1 * w, yb)],
            fill=a if k % 2 == 0 else c,
        )
    d.polygon(
        [(cx - 0.18 * w, y0 + 0.1 * h), (cx - 0.42 * w, y0 + 0.3 * h), (cx - 0.3 * w, y0 + 0.4 * h)], fill=a
    )
    d.polygon(
        [(cx + 0.18 * w, y0 + 0.1 * h), (cx + 0.42 * w, y0 + 0.3 * h), (cx + 0.3 * w, y0 + 0.4 * h)], fill=a
    )


def _fitness(d: ImageDraw.ImageDraw, rng: np.random.Generator, b: Box) -> None:
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    cy = y0 + _u(rng, 0.4, 0.6) * h
    plate = _pick(rng, ((30, 30, 30), (220, 100, 20), (60, 60, 70)))
    d.rectangle((x0 + 0.1 * w, cy - 0.04 * h, x1 - 0.1 * w, cy + 0.04 * h), fill=(150, 150, 160))
    for side in (x0 + 0.1 * w, x1 - 0.25 * w):
        d.rectangle((side, cy - 0.3 * h, side + 0.15 * w, cy + 0.3 * h), fill=plate)
    d.line((x0, y1 - 0.05 * h, x1, y1 - 0.05 * h), fill=(90, 90, 100), width=max(1, int(0.04 * h)))


def _food(d: ImageDraw.ImageDraw, rng: np.random.Generator, b: Box) -> None:
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    d.ellipse((x0, y0, x1, y1), fill=(250, 250, 250), outline=(180, 180, 180), width=max(1, int(0.05 * w)))
    for _ in range(int(rng.integers(3, 7))):
        r = _u(rng, 0.08, 0.16) * w
        cx, cy = x0 + _u(rng, 0.3, 0.7) * w, y0 + _u(rng, 0.3, 0.7) * h
        color = _hue(rng, _pick(rng, ((200, 40, 30), (60, 150, 40), (230, 140, 30), (120, 70, 30))), 20)
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=color)


def _family(d: ImageDraw.ImageDraw, rng: np.random.Generator, b: Box) -> None:
    x0, y0, x1, y1 = b
    n = int(rng.integers(2, 5))
    w, h = (x1 - x0) / n, y1 - y0
    for i in range(n):
        cx = x0 + (i + 0.5) * w
        top = y0 + (_u(rng, 0.0, 0.15) if rng.random() < 0.5 else _u(rng, 0.35, 0.5)) * h
        r = 0.3 * w
        d.ellipse((cx - r, top, cx + r, top + 2 * r), fill=_pick(rng, _SKIN))
        d.rounded_rectangle(
            (cx - 0.4 * w, top + 2 * r, cx + 0.4 * w, y1), radius=0.2 * w, fill=_hue(rng, (120, 110, 140), 60)
        )


def _pet(d: ImageDraw.ImageDraw, rng: np.random.Generator, b: Box) -> None:
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    fur = _pick(rng, ((120, 80, 40), (40, 35, 30), (210, 150, 70), (230, 225, 215)))
    by = y0 + 0.45 * h
    d.ellipse((x0 + 0.1 * w, by, x0 + 0.75 * w, by + 0.35 * h), fill=fur)
    for lx in (0.2, 0.55):
        d.rectangle((x0 + lx * w, by + 0.25 * h, x0 + (lx + 0.08) * w, y1), fill=fur)
    hx, hy, r = x0 + 0.75 * w, by - 0.05 * h, 0.16 * w
    d.ellipse((hx - r, hy - r, hx + r, hy + r), fill=fur)
    d.polygon([(hx - r, hy - 0.5 * r), (hx - 0.6 * r, hy - 1.8 * r), (hx - 0.1 * r, hy - 0.8 * r)], fill=fur)
    d.polygon([(hx + r, hy - 0.5 * r), (hx + 0.6 * r, hy - 1.8 * r), (hx + 0.1 * r, hy - 0.8 * r)], fill=fur)
    d.line((x0 + 0.12 * w, by + 0.1 * h, x0, by - 0.15 * h), fill=fur, width=max(1, int(0.05 * w)))


def _interior(d: ImageDraw.ImageDraw, rng: np.random.Generator, b: Box) -> None:
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    d.rectangle((x0, y0 + 0.7 * h, x1, y1), fill=_hue(rng, (150, 105, 65), 20))
    d.rectangle(
        (x0 + 0.55 * w, y0 + 0.1 * h, x0 + 0.9 * w, y0 + 0.45 * h),
        fill=(170, 210, 235),
        outline=(250, 250, 250),
        width=max(1, int(0.03 * w)),
    )
    d.rectangle(
        (x0 + 0.05 * w, y0 + 0.5 * h, x0 + 0.6 * w, y0 + 0.75 * h), fill=_hue(rng, (90, 110, 130), 50)
    )
    d.ellipse((x0 + 0.72 * w, y0 + 0.5 * h, x0 + 0.92 * w, y0 + 0.7 * h), fill=(50, 130, 60))


def _travel(d: ImageDraw.ImageDraw, rng: np.random.Generator, b: Box) -> None:
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    d.rectangle((x0, y0, x1, y0 + 0.6 * h), fill=_hue(rng, (120, 180, 235), 20))
    d.rectangle((x0, y0 + 0.6 * h, x1, y1), fill=_pick(rng, ((40, 110, 170), (90, 140, 60), (220, 200, 150))))
    for _ in range(int(rng.integers(1, 4))):
        px = x0 + _u(rng, 0.1, 0.9) * w
        half = _u(rng, 0.15, 0.3) * w
        d.polygon(
            [(px - half, y0 + 0.6 * h), (px, y0 + _u(rng, 0.15, 0.35) * h), (px + half, y0 + 0.6 * h)],
            fill=_hue(rng, (110, 110, 120), 20),
        )
    r = 0.08 * w
    sx, sy = x0 + _u(rng, 0.15, 0.85) * w, y0 + 0.12 * h
    d.ellipse((sx - r, sy - r, sx + r, sy + r), fill=(250, 220, 80))


def _other(d: ImageDraw.ImageDraw, rng: np.random.Generator, b: Box) -> None:
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    step = max(2.0, w / 6)
    for i in range(6):
        for j in range(6):
            if (i + j) % 2 == 0:
                d.rectangle(
                    (x0 + i * step, y0 + j * step, x0 + (i + 1) * step, y0 + (j + 1) * step),
                    fill=(40, 40, 50),
                )
    for _ in range(int(rng.integers(2, 4))):
        pts = [(x0 + _u(rng, 0, 1) * w, y0 + _u(rng, 0, 1) * h) for _ in range(3)]
        d.polygon(pts, fill=tuple(rng.integers(0, 256, size=3).tolist()))


def _selfie(d: ImageDraw.ImageDraw, rng: np.random.Generator, b: Box) -> None:
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    d.ellipse((x0 + 0.1 * w, y0 - 0.05 * h, x1 - 0.1 * w, y0 + 0.5 * h), fill=_hue(rng, (60, 40, 30), 30))
    d.ellipse((x0 + 0.2 * w, y0 + 0.1 * h, x1 - 0.2 * w, y1 - 0.1 * h), fill=_pick(rng, _SKIN))
    for ex in (0.38, 0.62):
        d.ellipse(
            (x0 + (ex - 0.04) * w, y0 + 0.38 * h, x0 + (ex + 0.04) * w, y0 + 0.46 * h), fill=(30, 30, 30)
        )
    d.arc(
        (x0 + 0.35 * w, y0 + 0.5 * h, x0 + 0.65 * w, y0 + 0.72 * h),
        20,
        160,
        fill=(150, 40, 50),
        width=max(1, int(0.03 * w)),
    )


def _giveaway(d: ImageDraw.ImageDraw, rng: np.random.Generator, b: Box) -> None:
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    box = _pick(rng, ((200, 30, 40), (30, 90, 170), (30, 140, 80)))
    d.rectangle((x0 + 0.1 * w, y0 + 0.3 * h, x1 - 0.1 * w, y1), fill=box)
    gold = (235, 190, 40)
    d.rectangle((x0 + 0.45 * w, y0 + 0.3 * h, x0 + 0.55 * w, y1), fill=gold)
    d.rectangle((x0 + 0.1 * w, y0 + 0.5 * h, x1 - 0.1 * w, y0 + 0.6 * h), fill=gold)
    d.ellipse(
        (x0 + 0.3 * w, y0 + 0.12 * h, x0 + 0.5 * w, y0 + 0.32 * h), outline=gold, width=max(1, int(0.04 * w))
    )
    d.ellipse(
        (x0 + 0.5 * w, y0 + 0.12 * h, x0 + 0.7 * w, y0 + 0.32 * h), outline=gold, width=max(1, int(0.04 * w))
    )


def _link_in_bio(d: ImageDraw.ImageDraw, rng: np.random.Generator, b: Box) -> None:
    x0, y0, x1, y1 = b
    w, h = x1 - x0, y1 - y0
    for k in range(int(rng.integers(3, 5))):
        y = y0 + (0.15 + 0.18 * k) * h
        d.rectangle((x0 + 0.1 * w, y, x0 + _u(rng, 0.5, 0.9) * w, y + 0.07 * h), fill=(40, 40, 60))
    d.polygon(
        [(x0 + 0.45 * w, y1 - 0.2 * h), (x0 + 0.55 * w, y1 - 0.2 * h), (x0 + 0.5 * w, y1)], fill=(220, 60, 90)
    )


_DRAW: dict[str, Callable[[ImageDraw.ImageDraw, np.random.Generator, Box], None]] = {
    "beauty": _beauty,
    "fashion": _fashion,
    "fitness": _fitness,
    "food": _food,
    "family": _family,
    "pet": _pet,
    "interior": _interior,
    "travel": _travel,
    "other": _other,
    "selfie": _selfie,
    "giveaway": _giveaway,
    "link_in_bio": _link_in_bio,
}
assert set(_DRAW) == set(MOTIFS) == set(DESCRIPTIONS) == set(_BACKGROUNDS), "one drawing per motif"


_NOISE_TILES = 16  # pre-drawn noise images per (size, noise); each image takes one, shifted
_noise_cache: dict[tuple[int, float], list[Image.Image]] = {}
_darken_cache: dict[int, list[int]] = {}


def _noise_tiles(size: int, noise: float) -> list[Image.Image]:
    """Gaussian noise images (std ``noise`` on a 0..1 scale) centred on 128, drawn once per process
    from a fixed seed, so images stay a pure function of their arguments."""
    key = (size, round(noise, 6))
    if key not in _noise_cache:
        rng = np.random.default_rng(20200420)
        tiles = rng.standard_normal((_NOISE_TILES, size, size, 3), dtype=np.float32) * (noise * 255.0) + 128.0
        tiles = np.clip(np.rint(tiles), 0, 255).astype(np.uint8)
        _noise_cache[key] = [Image.fromarray(t, "RGB") for t in tiles]
    return _noise_cache[key]


def _darken(percent: int) -> list[int]:
    """Lookup table scaling every channel to ``percent`` % (casual images are darker)."""
    if percent not in _darken_cache:
        _darken_cache[percent] = [v * percent // 100 for v in range(256)] * 3
    return _darken_cache[percent]


def _sticker(d: ImageDraw.ImageDraw, rng: np.random.Generator, size: int) -> None:
    """The product-shot cue of a paid post: a round price sticker in a corner (yellow, red rim)."""
    r = _u(rng, 0.17, 0.22) * size
    corner = int(rng.integers(4))
    cx = r + 1 if corner % 2 == 0 else size - r - 1
    cy = r + 1 if corner < 2 else size - r - 1
    d.ellipse(
        (cx - r, cy - r, cx + r, cy + r),
        fill=(255, 214, 0),
        outline=(220, 30, 60),
        width=max(1, int(0.3 * r)),
    )
    d.rectangle((cx - 0.4 * r, cy - 0.15 * r, cx + 0.4 * r, cy + 0.15 * r), fill=(220, 30, 60))


def render(
    seed: int, motif: str, styled: bool, size: int, noise: float, product: bool = False
) -> Image.Image:
    """One (size x size) RGB image, fully determined by its arguments; ``product`` adds the
    product-shot sticker of a paid post."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), _hue(rng, _BACKGROUNDS[motif], 12 if styled else 35))
    d = ImageDraw.Draw(img)
    if styled:
        scale, jitter = _u(rng, 0.72, 0.92), 0.05
    else:
        for _ in range(int(rng.integers(2, 5))):
            gx, gy = _u(rng, 0, size), _u(rng, 0, size)
            gs = _u(rng, 0.1, 0.35) * size
            d.rectangle((gx, gy, gx + gs, gy + gs), fill=_hue(rng, (130, 130, 130), 70))
        scale, jitter = _u(rng, 0.45, 0.65), 0.2
    half = scale * size / 2
    cx = size / 2 + _u(rng, -jitter, jitter) * size
    cy = size / 2 + _u(rng, -jitter, jitter) * size
    _DRAW[motif](d, rng, (cx - half, cy - half, cx + half, cy + half))
    if not styled:
        img = img.point(_darken(60 + int(rng.integers(26))))
    if product:
        _sticker(ImageDraw.Draw(img), rng, size)
    if noise > 0:
        tile = _noise_tiles(size, noise)[int(rng.integers(_NOISE_TILES))]
        tile = ImageChops.offset(tile, int(rng.integers(size)), int(rng.integers(size)))
        img = ImageChops.add(img, tile, 1.0, -128)
    return img


def encode_jpeg(image: Image.Image | np.ndarray, quality: int = 90) -> bytes:
    """An RGB image (or (H, W, 3) uint8 array) -> JPEG bytes (no EXIF; deterministic for a Pillow)."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image, "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
