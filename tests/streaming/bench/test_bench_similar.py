"""`scout bench similar` at a tiny size, fed from a saved .npy of embeddings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from streaming.bench.cli import app
from streaming.bench.embedding_source import synthetic_reference
from streaming.bench.report import unitless_key_problems


def test_bench_similar_tiny(tmp_path: Path) -> None:
    reference = synthetic_reference(16, np.random.default_rng(0), per_category=40)
    np.save(tmp_path / "emb.npy", reference.embeddings)
    np.save(tmp_path / "labels.npy", reference.labels)
    result = CliRunner().invoke(
        app,
        ["similar", "--sizes", "400,900", "--ef-search", "8,64", "--queries", "40",
         "--updates", "20", "--hnsw-m", "8", "--hnsw-ef-construction", "40",
         "--embeddings", str(tmp_path / "emb.npy"), "--labels", str(tmp_path / "labels.npy"),
         "--json", "--results-dir", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures == json.loads((tmp_path / "similar.json").read_text())
    assert figures["source"] == "npy" and figures["embedding_dims"] == 16  # no .source.txt beside it
    assert figures["mixture_categories_count"] == 9
    for n in (400, 900):
        for kind in ("exact", "hnsw"):
            assert figures[f"n{n}_{kind}_query_p99_ms"] >= figures[f"n{n}_{kind}_query_p50_ms"] > 0
            assert figures[f"n{n}_{kind}_build_s"] > 0 and figures[f"n{n}_{kind}_memory_mib"] > 0
            assert figures[f"n{n}_{kind}_upsert_20_ms"] > 0
        assert 0.5 < figures[f"n{n}_hnsw_recall_at_10"] <= 1.0
        assert figures[f"n{n}_hnsw_ef64_recall_at_10"] >= figures[f"n{n}_hnsw_ef8_recall_at_10"]
    assert isinstance(figures["goal_met"], bool)
    assert unitless_key_problems(figures) == []
