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
from training.calibration import ECE_BINS, Calibration
from training.dataset.reader import InstagramDataset
from training.encoders.features import PostTable
from training.sponsorship.report import sponsorship_lines
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
    row_offset: int = 0,
) -> dict[str, Any]:
    """One influencer's posts, highest attention weight first (top row) and lowest (bottom row).
    ``table`` row r holds the post of row r + ``row_offset`` of ``pred`` (a table of that one
    influencer's posts, from a feature store, has the offset of its first row)."""
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
        image_path = str(table.images[row - row_offset])
        if image_path:
            ax.imshow(Image.open(io.BytesIO(dataset.read_image(image_path))).convert("RGB"))
        topic = bags.post_topics[row]
        label = bags.categories[topic] if topic >= 0 else "generic"
        ax.set_title(f"w={weights[i]:.3f}\n{label}", fontsize=8)
        snippet = "".join(ch for ch in str(table.texts[row - row_offset]) if ord(ch) < 0x2000)[
            :28
        ]  # no emoji glyphs
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


def _pm(interval: dict[str, Any]) -> str:
    """mean ± half-width in percent (points), or the mean alone without an interval."""
    if interval.get("half_width") is None:
        return _pct(interval["mean"])
    return f"{_pct(interval['mean'])} ± {_pct(interval['half_width'])}"


def _signed_interval(d: dict[str, Any]) -> str:
    if d.get("low") is None:
        return f"{100 * d['mean']:+.1f} (no interval)"
    return f"{100 * d['mean']:+.1f} [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]"


def _label(key: str) -> str:
    method, variant = key.split("/")
    return f"{METHOD_NAMES.get(method, method)} ({variant})"


VARIANT_ORDER = ("multimodal", "text", "image")


def _interval_lines(summary: dict[str, Any], kind: str) -> list[str]:
    methods = summary["methods"]
    order = list(dict.fromkeys(k.split("/")[0] for k in methods))
    if kind == "folds":
        sizes = ", ".join(str(f["test"]) for f in summary.get("fold_sizes", []))
        head = (
            f"Macro-F1 / accuracy (%) over {summary['folds']} stratified folds (seed {summary['seed']}; test "
            f"influencers per fold: {sizes}), mean ± half-width of the 95% t-interval over the folds; every "
            "method is trained and tested on the same folds:"
        )
        how = "A − B fold by fold"
    else:
        head = (
            f"Macro-F1 ± half-width of its 95% interval / accuracy (%) on the {summary['test_influencers']} "
            f"test influencers of one split; intervals from a paired bootstrap over those influencers "
            f"({summary['resamples']} resamples; it covers which influencers were tested, not another "
            "training seed or split):"
        )
        how = "A − B on the same resampled influencers"
    lines = [
        head,
        "",
        "| method | " + " | ".join(VARIANT_ORDER) + " |",
        "| --- | " + " | ".join("---" for _ in VARIANT_ORDER) + " |",
    ]
    for method in order:
        cells = []
        for v in VARIANT_ORDER:
            got = methods.get(f"{method}/{v}")
            cells.append(f"{_pm(got['macro_f1'])} / {_pm(got['accuracy'])}" if got else "—")
        lines.append(f"| {METHOD_NAMES.get(method, method)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Paired differences in macro-F1 points ({how}; mean [95% interval]). "
        '"beats" / "loses" only where the interval excludes zero:',
        "",
        "| A | B | A − B | verdict |",
        "| --- | --- | --- | --- |",
    ]
    for d in summary["differences"]:
        if d["metric"] == "macro_f1":
            lines.append(f"| {_label(d['a'])} | {_label(d['b'])} | {_signed_interval(d)} | {d['verdict']} |")
    return lines


def _single_split_lines(results: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    lines = [
        "Macro-F1 / accuracy (%) on the held-out test influencers of one split (no interval: a "
        "difference here may be noise):",
        "",
        "| method | " + " | ".join(VARIANT_ORDER) + " |",
        "| --- | " + " | ".join("---" for _ in VARIANT_ORDER) + " |",
    ]
    for method, by_variant in results.items():
        cells = [
            f"{_pct(by_variant[v]['macro_f1'])} / {_pct(by_variant[v]['accuracy'])}"
            if v in by_variant
            else "—"
            for v in VARIANT_ORDER
        ]
        lines.append(f"| {METHOD_NAMES.get(method, method)} | " + " | ".join(cells) + " |")
    return lines


def _intervals(metrics: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    if metrics.get("cross_validation"):
        return metrics["cross_validation"], "folds"
    if metrics.get("bootstrap"):
        return metrics["bootstrap"], "bootstrap"
    return None, ""


def _calibration_lines(model: dict[str, Any], calibration: dict[str, Any]) -> list[str]:
    cal = Calibration.from_dict(calibration)
    if cal.fitted_on:
        t1, t3, t30 = cal.temperature(np.array([1, 3, 30]))
        how = (
            f"Calibration: temperature T(n) = exp({cal.log_t0:.3f} + {cal.slope:.3f} · ln n), fitted on "
            f"{cal.fitted_on} validation (influencer, prefix) pairs: T(1) {t1:.2f}, T(3) {t3:.2f}, "
            f"T(30) {t30:.2f}."
        )
    else:
        how = "Calibration: none (no validation influencers to fit it on); probabilities are the network's."
    lines = [
        how,
        "",
        f"The model's test influencers seen through their first posts (ECE over {ECE_BINS} equal-width "
        "bins; confidence = mean top probability), before → after calibration:",
        "",
        "| posts | influencers | mean posts | accuracy | confidence | ECE |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in model.get("prefixes", []):
        lines.append(
            f"| {row['prefix']} | {row['influencers']} | {row['mean_posts']:.1f} | {_pct(row['accuracy'])} | "
            f"{_pct(row['confidence_raw'])} → {_pct(row['confidence_calibrated'])} | "
            f"{_pct(row['ece_raw'])} → {_pct(row['ece_calibrated'])} |"
        )
    pooled = model.get("calibration_error")
    if pooled:
        lines += [
            "",
            f"ECE over all {pooled['pairs']} (influencer, prefix) pairs: {_pct(pooled['ece_raw'])}% → "
            f"{_pct(pooled['ece_calibrated'])}%.",
        ]
    return lines


def markdown(metrics: dict[str, Any]) -> str:
    """The report's text from ``metrics.json`` content."""
    data = metrics["dataset"]
    lines = [
        "# Influencer Scout — evaluation",
        "",
        f"Dataset: `{data['name']}` — {data['influencers']} influencers, {data['posts']} posts; the model's "
        "held-out split "
        + ", ".join(f"{k} {v}" for k, v in data["split"].items())
        + f" ({data['split_source']}).",
        "",
    ]
    for note in data.get("not_held_out") or []:
        lines.append(f"- Not held out: {note}.")
    if data.get("not_held_out"):
        lines.append("")
    summary, kind = _intervals(metrics)
    if summary is not None:
        lines += _interval_lines(summary, kind)
    elif metrics.get("results"):
        lines += _single_split_lines(metrics["results"])
    model = metrics.get("model")
    if model:
        variant = metrics.get("model_variant", "multimodal")
        lines += [
            "",
            f"## The exported model ({variant}) on its held-out test influencers",
            "",
            f"Macro-F1 {_pct(model['macro_f1'])}%, accuracy {_pct(model['accuracy'])}% on "
            f"{model['influencers']} influencers, every post pooled. Per-category F1 (%):",
            "",
        ]
        cats = list(model["per_category_f1"])
        lines += ["| " + " | ".join(cats) + " |", "|" + " --- |" * len(cats)]
        lines.append("| " + " | ".join(_pct(model["per_category_f1"][c]) for c in cats) + " |")
        lines += [
            "",
            f"Post head accuracy ({model['post_accuracy_basis']}, {model['posts']} posts): "
            f"{_pct(model['post_accuracy'])}%.",
            "",
        ]
        lines += _calibration_lines(model, metrics.get("calibration") or Calibration().to_dict())
    lines += sponsorship_lines(metrics.get("sponsorship"))
    if metrics.get("targets"):
        lines += ["", "Targets (macro-F1 points; met only where the 95% interval clears the bar):", ""]
        lines += [f"- {t['name']}: {_target_value(t)} — {t['status']}" for t in metrics["targets"]]
    lines += ["", "![confusion matrix](confusion.png)", "", "![attention](attention.png)", ""]
    if metrics.get("commands"):
        lines += ["Reproduce:", "", "```", *metrics["commands"], "```", ""]
    return "\n".join(lines)


def _target_value(t: dict[str, Any]) -> str:
    if t.get("low") is None:
        return f"{t['value']:+.1f} (one split, no interval)"
    return f"{t['value']:+.1f} [{t['low']:+.1f}, {t['high']:+.1f}]"


def _status(low: float | None, high: float | None, value: float, bar: float, strict: bool) -> str:
    if low is None or high is None:
        return "met on one split only" if (value > bar if strict else value >= bar) else "not met"
    if low > bar or (not strict and low >= bar):
        return "met"
    if high < bar or (strict and high <= bar):
        return "not met"
    return "not shown (the interval straddles the bar)"


def targets(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """The project's targets in macro-F1 points, from the folds' paired differences when there are
    folds (met only where the 95% interval clears the bar), else from the one split."""
    cv, _ = _intervals(metrics)
    diffs: dict[tuple[str, str], dict[str, Any]] = {}
    if cv:
        diffs = {(d["a"], d["b"]): d for d in cv["differences"] if d["metric"] == "macro_f1"}
        means = {k: v["macro_f1"]["mean"] for k, v in cv["methods"].items()}
    elif metrics.get("results"):
        results = metrics["results"]
        means = {f"{m}/{v}": r["macro_f1"] for m, by in results.items() for v, r in by.items()}
    else:
        return []
    top = "profiler/multimodal"
    if top not in means:
        return []

    def gap(b: str) -> dict[str, Any]:
        d = diffs.get((top, b))
        if d is not None:
            return {"value": 100 * d["mean"], "low": 100 * d["low"] if d["low"] is not None else None,
                    "high": 100 * d["high"] if d["high"] is not None else None}  # fmt: skip
        return {"value": 100 * (means[top] - means[b]), "low": None, "high": None}

    out = []
    wanted = [(f"{m}/multimodal", f"profiler - {METHOD_NAMES[m].lower()} (multimodal) >= 5", 5.0, False)
              for m in ("mean_mlp", "mean_features_mlp")]  # fmt: skip
    spark = [k for k in (f"{m}/multimodal" for m in ("spark_lr", "spark_rf", "spark_nb")) if k in means]
    if spark:
        best = max(spark, key=lambda k: means[k])
        wanted.append((best, f"profiler - best Spark ML baseline ({_label(best)}) > 0", 0.0, True))
    singles = [k for k in ("profiler/text", "profiler/image") if k in means]
    if singles:
        best = max(singles, key=lambda k: means[k])
        wanted.append((best, f"multimodal - best single modality of the profiler ({best}) >= 5", 5.0, False))
    for b, name, bar, strict in wanted:
        if b not in means:
            continue
        g = gap(b)
        out.append({"name": name, **g, "status": _status(g["low"], g["high"], g["value"], bar, strict)})
    return out


def write_report(out_dir: Path, metrics: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    (out_dir / "report.md").write_text(markdown(metrics))
    log.info("report written to %s", out_dir)
