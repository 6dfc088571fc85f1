"""`scout bench state` at a tiny size: the table, the JSON line and file, and the equality checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streaming.bench.cli import app
from streaming.bench.report import BenchReport, emit, unitless_key_problems


def test_bench_state_tiny(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["state", "--history", "30", "--dim", "16", "--posts", "3000", "--influencers", "300",
         "--batch-influencers", "20", "--calls", "100", "--json", "--results-dir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("Incremental attention state")
    figures = json.loads(lines[-1])
    assert figures == json.loads((tmp_path / "state.json").read_text())
    assert figures["bench"] == "state" and figures["checked_equal"] is True
    assert figures["segmented_cpu_max_abs_diff"] <= 1e-9
    for key in (
        "per_call_incremental_us", "per_call_recompute_us", "per_call_recompute_over_incremental_ratio",
        "vectorised_recompute_over_incremental_ratio", "numpy_loop_s", "segmented_cpu_s",
        "numpy_loop_over_segmented_cpu_ratio",
    ):  # fmt: skip
        assert figures[key] > 0, key
    assert unitless_key_problems(figures) == []


def test_report_refuses_figures_without_units(tmp_path: Path) -> None:
    report = BenchReport("x", "title", rows=[{"a": 1.5}], figures={"latency": 3.0, "speed_ratio": 2.0})
    assert unitless_key_problems(report.figures) == ["latency"]
    with pytest.raises(AssertionError, match="latency"):
        emit(report, as_json=True, results_dir=tmp_path)
