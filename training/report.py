"""The evaluation report: ``metrics.json``, a markdown summary, a confusion-matrix PNG and a figure
of one influencer's posts ranked by attention weight."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training.bags import InfluencerBags
from training.dataset.reader import InstagramDataset
from training.encoders.features import PostTable
from training.train import Predictions

log = logging.getLogger(__name__)

METHOD_NAMES = {
    "profiler": "Post-attentive profiler",
    "mean_mlp": "Mean pooling of h + MLP",
    "mean_features_mlp": "Mean pooling of features + MLP",
    "spark_lr": "Mean pooling + Spark ML LogisticRegression",
    "spark_rf": "Mean pooling + Spark ML RandomForest",
    "spark_nb": "Mean pooling + Spark ML NaiveBayes",
}


def _pyplot():  # noqa: ANN202 (matplotlib module)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_png(
    confusion: Sequence[Sequence[int]], categories: Sequence[str], path: Path, title: str
) -> None:
    plt = _pyplot()
    cm = np.asarray(confusion)
    fig, ax = plt.subplots(figsize=(6.4, 5.6), dpi=100)
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(categories)), categories, rotation=45, ha="right")
    ax.set_yticks(range(len(categories)), categories)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for (r, c), value in np.ndenumerate(cm):
        if value:
            ax.text(
                c, r, str(value), ha="center", va="center", color="white" if value > cm.max() / 2 else "black"
            )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def pick_influencer(pred: Predictions, bags: InfluencerBags) -> int:
    """Position in ``pred.idx`` of a correctly classified influencer whose attention is most
    selective (largest top weight relative to uniform); the first influencer if none is correct."""
    correct = pred.probs.argmax(axis=1) == bags.labels[pred.idx]
    best, best_score, offset = 0, -1.0, 0
    for pos, bag in enumerate(pred.idx):
        n = int(bags.counts()[bag])
        score = float(pred.weights[offset : offset + n].max() * n) if correct[pos] else -1.0
        if score > best_score:
            best, best_score = pos, score
        offset += n
    return best


def attention_png(
    dataset: InstagramDataset,
    table: PostTable,
    bags: InfluencerBags,
    pred: Predictions,
    path: Path,
    position: int | None = None,
    show: int = 12,
) -> dict[str, Any]:
    """One influencer's posts, highest attention weight first (top row) and lowest (bottom row)."""
    from PIL import Image

    plt = _pyplot()
    pos = pick_influencer(pred, bags) if position is None else position
    bag = int(pred.idx[pos])
    offset = int(bags.counts()[pred.idx[:pos]].sum())
    n = int(bags.counts()[bag])
    rows = pred.post_rows[offset : offset + n]
    weights = pred.weights[offset : offset + n]
    order = np.argsort(-weights)
    half = max(1, show // 2)
    picked = list(order[:half]) + [i for i in order[-half:] if i not in order[:half]]
    fig, axes = plt.subplots(2, half, figsize=(1.9 * half, 4.8), dpi=100, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for k, i in enumerate(picked):
        ax = axes.flat[k]
        row = int(rows[i])
        image_path = str(table.images[row])
        if image_path:
            ax.imshow(Image.open(io.BytesIO(dataset.read_image(image_path))).convert("RGB"))
        topic = bags.post_topics[row]
        label = bags.categories[topic] if topic >= 0 else "generic"
        ax.set_title(f"w={weights[i]:.3f}\n{label}", fontsize=8)
        snippet = "".join(ch for ch in str(table.texts[row]) if ord(ch) < 0x2000)[:28]  # no emoji glyphs
        ax.text(0, -0.02, snippet, transform=ax.transAxes, fontsize=6, va="top")
    predicted = bags.categories[int(pred.probs[pos].argmax())]
    fig.suptitle(
        f"{bags.names[bag]} ({bags.categories[bags.labels[bag]]}, predicted {predicted}): "
        f"{n} posts, top row = highest attention, bottom row = lowest",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return {"influencer": bags.names[bag], "posts": n, "top_weight": float(weights.max()), "uniform": 1.0 / n}


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def markdown(metrics: dict[str, Any]) -> str:
    """The report's text from ``metrics.json`` content."""
    results = metrics["results"]
    variants = ("multimodal", "text", "image")
    lines = [
        "# Influencer Scout — evaluation",
        "",
        f"Dataset: `{metrics['dataset']['name']}` — {metrics['dataset']['influencers']} influencers, "
        f"{metrics['dataset']['posts']} posts; held-out split "
        + ", ".join(f"{k} {v}" for k, v in metrics["dataset"]["split"].items())
        + f" ({metrics['dataset']['split_source']}).",
        "",
        "Macro-F1 / accuracy (%) on the held-out test influencers, every post pooled:",
        "",
        "| method | " + " | ".join(variants) + " |",
        "| --- | " + " | ".join("---" for _ in variants) + " |",
    ]
    for method, by_variant in results.items():
        cells = [
            f"{_pct(by_variant[v]['macro_f1'])} / {_pct(by_variant[v]['accuracy'])}"
            if v in by_variant
            else "—"
            for v in variants
        ]
        lines.append(f"| {METHOD_NAMES.get(method, method)} | " + " | ".join(cells) + " |")
    best = results.get("profiler", {}).get("multimodal")
    if best:
        lines += ["", "Per-category F1 (%) of the multimodal profiler:", ""]
        cats = list(best["per_category_f1"])
        lines += ["| " + " | ".join(cats) + " |", "|" + " --- |" * len(cats)]
        lines.append("| " + " | ".join(_pct(best["per_category_f1"][c]) for c in cats) + " |")
        lines += [
            "",
            f"Post head accuracy ({best['post_accuracy_basis']}, {best['posts']} posts): "
            f"{_pct(best['post_accuracy'])}%.",
        ]
    if metrics.get("targets"):
        lines += ["", "Targets:", ""]
        lines += [
            f"- {t['name']}: {t['value']:+.1f} points ({'met' if t['met'] else 'NOT met'})"
            for t in metrics["targets"]
        ]
    lines += ["", "![confusion matrix](confusion.png)", "", "![attention](attention.png)", ""]
    if metrics.get("commands"):
        lines += ["Reproduce:", "", "```", *metrics["commands"], "```", ""]
    return "\n".join(lines)


def targets(results: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The issue's targets, in macro-F1 points (reported, never asserted)."""
    out: list[dict[str, Any]] = []
    prof = results.get("profiler", {})
    if "multimodal" not in prof:
        return out
    f1 = prof["multimodal"]["macro_f1"]
    for method in ("mean_mlp", "mean_features_mlp"):
        if "multimodal" in results.get(method, {}):
            gap = 100 * (f1 - results[method]["multimodal"]["macro_f1"])
            name = f"profiler - {METHOD_NAMES[method].lower()} (multimodal) >= 5"
            out.append({"name": name, "value": gap, "met": gap >= 5})
    spark = [
        results[m]["multimodal"]["macro_f1"] for m in ("spark_lr", "spark_rf", "spark_nb") if m in results
    ]
    if spark:
        gap = 100 * (f1 - max(spark))
        out.append(
            {"name": "profiler - best Spark ML baseline (multimodal) > 0", "value": gap, "met": gap > 0}
        )
    singles = [prof[v]["macro_f1"] for v in ("text", "image") if v in prof]
    if singles:
        gap = 100 * (f1 - max(singles))
        out.append(
            {"name": "multimodal - best single modality (profiler) >= 5", "value": gap, "met": gap >= 5}
        )
    return out


def write_report(out_dir: Path, metrics: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    (out_dir / "report.md").write_text(markdown(metrics))
    log.info("report written to %s", out_dir)
