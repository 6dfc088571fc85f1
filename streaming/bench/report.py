"""How every `scout bench …` reports: a readable table, then (with --json) one JSON object on the
last line, and the same object written to ``bench/results/<name>.json``.

The JSON object is flat. Numeric keys name the figure and end in its unit (``_ms``, ``_per_s``,
``_mib`` …); a ratio's key contains ``ratio``, a recall's ``recall``, a numerical difference's
``abs_diff`` (all unitless). A figure measured at several sizes repeats its key with the size
appended (``pipeline_posts_per_s_100000``). Strings and
booleans describe the run (``bench``, ``device``, ``checked_equal``).
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

RESULTS_DIR = Path("bench/results")
UNIT_SUFFIXES = (
    "_s", "_ms", "_us", "_ns", "_per_s", "_bytes", "_mib", "_gib",
    "_count", "_posts", "_influencers", "_queries", "_dims", "_threads", "_per_influencer",
)  # fmt: skip
_SIZE_SUFFIX = re.compile(r"_\d+$")
UNITLESS_MARKS = ("ratio", "recall", "abs_diff", "load_average")


def unitless_key_problems(figures: dict[str, Any]) -> list[str]:
    """The numeric keys that name no unit (empty when the object follows the convention)."""
    return [
        key
        for key, value in figures.items()
        if isinstance(value, int | float)
        and not isinstance(value, bool)
        and not _SIZE_SUFFIX.sub("", key).endswith(UNIT_SUFFIXES)
        and not any(mark in key for mark in UNITLESS_MARKS)
    ]


@dataclass
class BenchReport:
    name: str  # file name under bench/results/
    title: str
    rows: list[dict[str, Any]] = field(default_factory=list)  # the readable table
    figures: dict[str, Any] = field(default_factory=dict)  # the JSON object
    notes: list[str] = field(default_factory=list)  # printed under the table

    def json_object(self) -> dict[str, Any]:
        problems = unitless_key_problems(self.figures)
        assert not problems, f"benchmark figures without a unit in their key: {problems}"
        return {
            "bench": self.name,
            **self.figures,
            "host_cpus_count": os.cpu_count() or 0,
            # Other work on the machine during the run (timings on a busy machine have long tails).
            **dict(zip(("host_load_average_1m", "host_load_average_15m"), os.getloadavg()[::2], strict=True)),
            "host": f"{platform.machine()} {platform.processor() or platform.system()}".strip(),
            "python": platform.python_version(),
            "command": _command(),
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        }


def _command() -> str:
    """How this run was started: `scout bench …`, or `python -m streaming.bench.<name> …`."""
    program = Path(sys.argv[0]) if sys.argv else Path("scout")
    if program.suffix == ".py" and program.parent.name == "bench":
        return " ".join([f"python -m streaming.bench.{program.stem}", *sys.argv[1:]])
    return " ".join(["scout", *sys.argv[1:]])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if value == 0 or 0.01 <= abs(value) < 1e6:
            return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:,.1f}"
        return f"{value:.3g}"
    return str(value)


def render_table(rows: Sequence[dict[str, Any]]) -> str:
    """Rows of dicts -> an aligned text table (columns in first-seen order)."""
    if not rows:
        return "(no rows)"
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[_cell(row.get(col, "")) for col in columns] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in cells)) for i, col in enumerate(columns)]
    lines = ["  ".join(col.ljust(w) for col, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def emit(report: BenchReport, as_json: bool, results_dir: Path | None = RESULTS_DIR) -> dict[str, Any]:
    """Print the table (and the JSON line when asked); write bench/results/<name>.json."""
    obj = report.json_object()
    typer.echo(report.title)
    typer.echo(render_table(report.rows))
    for note in report.notes:
        typer.echo(f"  {note}")
    if results_dir is not None:
        results_dir.mkdir(parents=True, exist_ok=True)
        (results_dir / f"{report.name}.json").write_text(json.dumps(obj, indent=2) + "\n")
    if as_json:
        typer.echo(json.dumps(obj))
    return obj
