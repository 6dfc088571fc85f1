"""A small, readable set of profile and reclassification events for the browser test's screenshots.

Ten influencers in four categories with captions and generated post images; embeddings cluster by
category. ``move_events`` is wander.ines drifting from travel to food: a new profile plus the
reclassification the job would publish. With a ``Showcase`` carrying a model version and a text
encoder, the profiles also carry text vectors (the mean of their captions' encodings) and
engagement figures, and ``followers`` gives each influencer's count: what the discovery tools read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from tests.streaming.service.profiles import LABELS, T0, iso, profile_event, sponsorship_figures

MODEL_VERSION = "3f9c2a1b7d4e8a06"
DIM = 16
MOVER = "wander.ines"

# name -> (category, captions of the top posts)
SHOWCASE = {
    "anna.bakes": (
        "food",
        [
            "Sourdough, day three: finally an open crumb",
            "Ricotta pancakes for a slow Sunday",
            "Market haul: figs, burrata and basil",
        ],
    ),
    "luca_eats": (
        "food",
        [
            "Fresh tagliatelle with brown butter and sage",
            "Street tacos in the old town",
            "Tomato season means panzanella",
        ],
    ),
    "the.spice.table": (
        "food",
        [
            "Toasting cumin and coriander for the dal",
            "A table for twelve, mostly curry",
            "Lime pickle, six weeks in",
        ],
    ),
    "trail_tom": (
        "travel",
        [
            "Sunrise over the Dolomites from the hut",
            "Night train to Vienna, cabin 4",
            "Packing list for two weeks with one bag",
        ],
    ),
    MOVER: (
        "travel",
        [
            "Lost in the blue streets of Chefchaouen",
            "Island hopping on the slow ferry",
            "The best coffee in Lisbon is up 200 steps",
        ],
    ),
    "nomad.kai": (
        "travel",
        [
            "Cold plunge in a fjord at 6am",
            "Desert camp under a full moon",
            "Markets of Hanoi before breakfast",
        ],
    ),
    "mia.moves": (
        "fitness",
        ["Deadlift PR: 120 kg", "Mobility routine for desk days", "Rest day walk, 12k steps"],
    ),
    "coach.ben": (
        "fitness",
        [
            "Interval Tuesday: 10 x 400 m",
            "Meal prep for a heavy training week",
            "Why I stopped skipping leg day",
        ],
    ),
    "glow.by.sara": (
        "beauty",
        [
            "Five-minute morning skincare",
            "Testing three new lipsticks",
            "Sunscreen under makeup, the honest review",
        ],
    ),
    "lumi.looks": ("beauty", ["Soft glam for a winter wedding", "My everyday brows", "Retinol, slowly"]),
}
PALETTE = {
    "food": (232, 140, 60),
    "travel": (60, 130, 210),
    "fitness": (60, 170, 110),
    "beauty": (215, 90, 150),
}
_DIRECTIONS = {c: np.random.default_rng(i).standard_normal(DIM) for i, c in enumerate(PALETTE)}

Record = tuple[bytes, bytes]


@dataclass(frozen=True)
class Showcase:
    model_version: str = MODEL_VERSION
    encode: Callable[[Sequence[str]], np.ndarray] | None = None  # texts -> (n, T), the model's text encoder

    def extras(self, n: int, captions: Sequence[str], post_count: int | None = None) -> dict[str, Any]:
        if self.encode is None:
            return {}
        post_count = 40 + 7 * n if post_count is None else post_count
        text = np.asarray(self.encode(list(captions)), dtype=np.float64).mean(axis=0)
        likes = 300.0 + 150 * n
        engagement = {"likes_mean": likes, "comments_mean": likes / 20, "posts_per_week": 2.0 + n % 3,
                      "first_post": iso(T0 - timedelta(days=200)), "last_post": iso(T0)}  # fmt: skip
        return {"text_vector": text, "engagement": engagement, "sponsorship": sponsorship_of(n, post_count)}


# The brand the n-th showcase influencer worked with.
SHOWCASE_BRANDS = ("le.creuset", "bolt.trips", "acme")


def sponsorship_of(n: int, post_count: int) -> dict[str, Any]:
    """The n-th influencer's sponsorship: n % 4 + 1 disclosed posts with its brand, an estimated
    0.3 n undisclosed ones, and for odd n one flagged post naming the brand."""
    brand = SHOWCASE_BRANDS[n % 3]
    disclosed = n % 4 + 1
    likely = [(f"ad-{n}", 0.81, [brand])] if n % 2 else []
    brands = {brand: (disclosed + len(likely), disclosed)}
    return sponsorship_figures(post_count, disclosed, 0.3 * n, brands, likely)


def followers(showcase_names: Sequence[str] = tuple(SHOWCASE)) -> list[Record]:
    """Followers events: 10,000 for the first influencer, 5,000 more for each next one."""
    events = [
        {"schema": 1, "influencer": name, "followers": 10_000 + 5_000 * n}
        for n, name in enumerate(showcase_names)
    ]
    return [(e["influencer"].encode(), json.dumps(e).encode()) for e in events]


def post_image(path: Path, category: str, seed: int) -> None:
    """A 160 px JPEG in the category's colours (overlapping discs on a dark ground)."""
    rng = np.random.default_rng(seed)
    base = np.array(PALETTE[category])
    img = Image.new("RGB", (160, 160), tuple(int(c) for c in base // 2))
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x, y, r = rng.integers(0, 160), rng.integers(0, 160), rng.integers(12, 45)
        colour = tuple(int(c) for c in np.clip(base + rng.integers(-50, 60, 3), 0, 255))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    img.save(path, format="JPEG", quality=85)


def _posts(image_root: Path, name: str, items: list[tuple[str, str]], seed: int) -> list[dict[str, Any]]:
    posts = []
    for j, (category, caption) in enumerate(items):
        path = image_root / f"{name}-{seed}-{j}.jpg"
        post_image(path, category, seed=seed * 10 + j)
        posts.append(
            {
                "post_id": f"{name}-{seed}-{j}",
                "score": 2.5 - 0.6 * j,
                "weight": round(0.42 / (j + 1), 3),
                "caption": caption,
                "image_uri": path.as_uri(),
                "ts": iso(T0 - timedelta(days=3 * j)),
            }
        )
    return posts


def _with_probabilities(
    event: dict[str, Any], rng: np.random.Generator, runner_up: tuple[str, float] | None = None
) -> dict[str, Any]:
    """Spread what the category leaves over the other labels (``runner_up`` fixed first)."""
    category = event["category"]
    fixed = {category: event["probabilities"][category], **dict([runner_up] if runner_up else [])}
    others = [label for label in LABELS if label not in fixed]
    weights = rng.dirichlet(np.ones(len(others))) * (1 - sum(fixed.values()))
    event["probabilities"] = {**fixed, **{label: float(w) for label, w in zip(others, weights, strict=True)}}
    return event


def record(event: dict[str, Any]) -> Record:
    return event["influencer"].encode(), json.dumps(event).encode()


def showcase_profiles(image_root: Path, showcase: Showcase = Showcase()) -> list[Record]:
    rng = np.random.default_rng(3)
    records = []
    for n, (name, (category, captions)) in enumerate(SHOWCASE.items()):
        event = profile_event(
            name,
            category,
            _DIRECTIONS[category] + 0.35 * rng.standard_normal(DIM),
            confidence=0.62 + 0.03 * (n % 5),
            post_count=40 + 7 * n,
            model_version=showcase.model_version,
            top_posts=_posts(image_root, name, [(category, c) for c in captions], seed=n),
            processing_time=T0 + timedelta(minutes=n),
            **showcase.extras(n, captions),
        )
        records.append(record(_with_probabilities(event, rng)))
    return records


def reclassified(
    name: str,
    previous: str,
    category: str,
    minutes: int,
    batch_id: int,
    model_version: str = MODEL_VERSION,
    post_count: int = 50,
) -> Record:
    when = iso(T0 + timedelta(minutes=minutes))
    return record(
        {
            "schema": 1,
            "influencer": name,
            "previous_category": previous,
            "category": category,
            "probabilities": {category: 0.58, previous: 0.31},
            "post_count": post_count,
            "trigger_posts": [f"{name}-new"],
            "model_version": model_version,
            "event_time": when,
            "processing_time": when,
            "batch_id": batch_id,
        }
    )


def backlog_reclassifications(model_version: str = MODEL_VERSION) -> list[Record]:
    """Earlier category changes, sent to a page when it opens."""
    return [
        reclassified("coach.ben", "food", "fitness", 20, 2, model_version),
        reclassified("luca_eats", "travel", "food", 35, 3, model_version),
    ]


def move_events(image_root: Path, showcase: Showcase = Showcase()) -> tuple[Record, Record]:
    """(profile, reclassification) of wander.ines, now posting mostly about food."""
    items = [
        ("food", "Learning to make msemen in a Fez kitchen"),
        ("food", "Night market dumplings, round two"),
        ("travel", "Lost in the blue streets of Chefchaouen"),
    ]
    embedding = 0.8 * _DIRECTIONS["food"] + 0.45 * _DIRECTIONS["travel"]
    event = profile_event(
        MOVER,
        "food",
        embedding,
        confidence=0.64,
        post_count=75,
        batch_id=5,
        model_version=showcase.model_version,
        top_posts=_posts(image_root, MOVER, items, seed=99),
        processing_time=T0 + timedelta(hours=1),
        **showcase.extras(4, [caption for _, caption in items], post_count=75),
    )
    event = _with_probabilities(event, np.random.default_rng(5), runner_up=("travel", 0.22))
    return record(event), reclassified(MOVER, "travel", "food", 60, 5, showcase.model_version, 75)
