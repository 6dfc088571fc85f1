"""`python -m streaming.bench.embed` at a tiny size on the CPU: every section runs, the keys follow the
bench convention, and the figures that can be checked on a CPU hold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streaming.bench.embed import main
from streaming.bench.report import unitless_key_problems
from training.encoders.compact_cnn import CompactCNNConfig
from training.synth.knobs import WorldKnobs
from training.synth.writer import generate_world


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "world"
    generate_world(out, WorldKnobs(influencers=2, posts=4, image_size=96, seed=5), progress=False)
    return out


def test_embed_bench_smoke_on_cpu(
    tiny_world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "--posts-dir", str(tiny_world), "--device", "cpu", "--encoders", "default,mobilenet_v2",
        "--batch", "4", "--posts", "4", "--accuracy-posts", "4", "--cpu-tower-images", "16",
        "--state-posts", "3000", "--state-influencers", "200", "--hidden", "16", "--quick", "--json",
        "--results-dir", str(tmp_path),
    ]  # fmt: skip
    figures = main(argv)
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == figures == json.loads((tmp_path / "embed_cpu.json").read_text())
    assert figures["bench"] == "embed_cpu" and figures["device"] == "cpu"
    assert not [k for k in figures if k.endswith(("_error", "_skipped"))], figures
    assert unitless_key_problems(figures) == []
    assert figures["embed_default_fp32_host_pil_b4_posts_per_s"] > 0
    assert figures["best_default_posts_per_s"] == figures["embed_default_fp32_host_pil_b4_posts_per_s"]
    # the pretrained tower: the whole stage, and the tower alone at 224 px per batch size
    assert figures["image_weights"] == "default random, mobilenet_v2 pretrained"
    assert figures["embed_mobilenet_v2_fp32_host_pil_b4_posts_per_s"] > 0
    for batch in (16, 64):
        assert figures[f"cpu_mobilenet_v2_tower_224px_b{batch}_img_per_s"] > 0
        assert figures[f"cpu_default_tower_{CompactCNNConfig().image_size}px_b{batch}_img_per_s"] > 0
    assert figures["world_distinct_posts"] == 8 and figures["world_image_share_ratio"] == 1.0
    size = CompactCNNConfig().image_size
    ceilings = [
        "default_tower_bf16",
        "tokenizer_captions",
        f"host_decode_pil_{size}_t1",
        f"host_decode_turbo_{size}_t1",
    ]
    for key in ceilings:
        assert figures[f"ceiling_{key}_per_s" if "captions" in key else f"ceiling_{key}_img_per_s"] > 0, key
    # the float32 turbo decoder is the reference at this size; bf16 is close but not equal
    assert figures["rel_error_default_fp32_host_turbo_text_ratio"] == 0.0
    assert 0.0 < figures["rel_error_default_bf16_host_pil_image_ratio"] < 0.05
    assert figures["state_update_n_m_equal"] is True
    assert figures["state_update_s_rel_diff_ratio"] == 0.0 and figures["state_update_posts"] == 3000
