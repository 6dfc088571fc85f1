"""The sponsorship section of the evaluation report (``report.md``), from ``metrics["sponsorship"]``."""

from __future__ import annotations

from typing import Any

from training.sponsorship.evaluate import METHOD_NAMES

_VIEWS = {
    "undisclosed": "Undisclosed ads among the test posts without a disclosure",
    "paid": "Every paid post among all test posts (disclosed or not)",
}


def _cell(interval: dict[str, Any]) -> str:
    if interval["mean"] is None or interval["mean"] != interval["mean"]:  # NaN: undefined
        return "—"
    value = f"{100 * interval['mean']:.1f}"
    if interval.get("low") is None:
        return value
    return f"{value} [{100 * interval['low']:.1f}, {100 * interval['high']:.1f}]"


def sponsorship_lines(section: dict[str, Any] | None) -> list[str]:
    """Markdown lines: one table per view (AP, precision, recall with 95% intervals) and the head's
    paired differences in AP; nothing without a section."""
    if not section:
        return []
    c = section["label_frequency"]
    lines = [
        "",
        "## Sponsorship: undisclosed paid posts",
        "",
        f"{section['test_posts']} test posts, {section['test_disclosed']} of them disclosed (tag or marker). "
        f"Label frequency c = P(disclosed | paid): head {c['head']:.3f}, text LR {c['text_lr']:.3f}. "
        f"Precision and recall at probability >= {section['threshold']}; 95% intervals from a bootstrap "
        f"over the test influencers ({section['resamples']} resamples), in %:",
    ]
    for view, title in _VIEWS.items():
        got = section[view]
        lines += [
            "",
            f"{title}: {got['positives']} positives of {got['candidates']} posts, {got['influencers']} "
            "influencers.",
            "",
            "| method | average precision | precision | recall | flagged |",
            "| --- | --- | --- | --- | --- |",
        ]
        for method, m in got["methods"].items():
            lines.append(
                f"| {METHOD_NAMES.get(method, method)} | {_cell(m['average_precision'])} | "
                f"{_cell(m['precision'])} | {_cell(m['recall'])} | {m['flagged']} |"
            )
        lines += ["", "Head − baseline, average precision points [95% interval]:", ""]
        for d in got["differences"]:
            span = f"[{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]" if d.get("low") is not None else ""
            lines.append(f"- {METHOD_NAMES[d['b']]}: {100 * d['mean']:+.1f} {span} — {d['verdict']}")
    return lines
