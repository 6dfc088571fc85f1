"""`scout bench embed`: posts/s of the embed stage, end to end from JPEG bytes, on a GPU and on the CPU.

    scout generate data/world512 --influencers 6 --posts 20 --seed 11 --image-size 512 --knob jpeg_quality=85
    python -m streaming.bench.embed --posts-dir data/world512 --json    # or: scout bench embed ...
    python -m streaming.bench.embed --posts-dir data/world512 --device cpu --encoders default --quick

Runs the real pipeline (``training.encoders.gpu_pipeline``) over posts read from a generated world
(cycled when there are fewer than asked for), for the default encoders, for a ViT-B/32-sized image
tower + MiniLM and for the pretrained MobileNetV2 tower + MiniLM: several batch sizes, float32 vs
mixed precision, host vs GPU vs hybrid JPEG decoding; then each stage alone (its ceiling), the
relative error of every variant against the float32 CPU reference, the same stage on the CPU for
the ratio, the batched incremental state update on the device vs the CPU, and each image tower
alone on the CPU (images/s at its input size, float32, batches of 16 and 64). Prints a table
(``streaming.bench.report``); with ``--json`` the last line is one JSON object whose keys name each
figure and its unit (ratios contain ``ratio``), also written to ``RESULTS_DIR/embed_<card>.json``.

Imports only PyTorch, torchvision, transformers, numpy, Pillow and the project's own files (the
report helper, and with it typer, only when the results are printed).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import logging
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from streaming.bench.embed_measure import (
    Run,
    bound_of,
    ceilings,
    cpu_tower_rates,
    measure_run,
    relative_errors,
)
from streaming.bench.embed_setup import (
    ENCODER_PAIRS,
    IMAGE_WEIGHTS,
    image_tower,
    load_world,
    minilm_tower,
)
from streaming.bench.embed_state import state_update

log = logging.getLogger("streaming.bench.embed")


def gpu_plan(quick: bool) -> list[Run]:
    """Headline first (ViT-B/32 + MiniLM, bf16), then the comparisons: decoders (GPU alone, host
    alone, both with 2/6/14 host threads), batch sizes, precisions, the MobileNetV2 tower and the
    default encoders."""
    if quick:
        return [Run("vit_b32", "hybrid", "turbo", "bf16", 256), Run("default", "gpu", "pil", "bf16", 256)]
    vit = [Run("vit_b32", "gpu", "turbo", "bf16", b) for b in (512, 1024, 256)]
    vit += [Run("vit_b32", "hybrid", "turbo", "bf16", 512, t) for t in (2, 6, 14)]
    vit += [
        Run("vit_b32", "hybrid", "pil", "bf16", 512, 6),
        Run("vit_b32", "hybrid", "turbo", "bf16", 1024, 6),
        Run("vit_b32", "host", "turbo", "bf16", 512, 14),
        Run("vit_b32", "host", "pil", "bf16", 512, 14),
        Run("vit_b32", "gpu", "turbo", "fp32", 512),
        Run("vit_b32", "gpu", "turbo", "fp16", 512),
    ]
    mobilenet = [
        Run("mobilenet_v2", "gpu", "turbo", "bf16", 512),
        Run("mobilenet_v2", "gpu", "turbo", "fp32", 512),
        Run("mobilenet_v2", "hybrid", "turbo", "bf16", 512, 6),
    ]
    default = [
        Run("default", "gpu", "pil", "bf16", 512),
        Run("default", "gpu", "pil", "fp32", 512),
        Run("default", "hybrid", "pil", "bf16", 512, 6),
        Run("default", "host", "pil", "bf16", 512, 14),
    ]
    return vit + mobilenet + default


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; returns the figures (also printed, and written with --json)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    device = torch.device(
        args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    )
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True
    world = load_world(Path(args.posts_dir), args.distinct)
    text, weights = minilm_tower(args.text_model, force_random=args.random_text_weights)
    kinds = [k.strip() for k in args.encoders.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in ENCODER_PAIRS]
    assert not unknown, f"unknown encoder pairs {unknown}; known: {', '.join(ENCODER_PAIRS)}"
    towers = {kind: image_tower(kind) for kind in kinds}
    out: dict[str, Any] = {
        "device": torch.cuda.get_device_name(device) if cuda else "cpu",
        "torch_version": torch.__version__,
        "torchvision_version": _version("torchvision"),
        "transformers_version": _version("transformers"),
        "torch_cpu_threads": torch.get_num_threads(),
        "text_weights": weights,
        "image_weights": ", ".join(f"{kind} {IMAGE_WEIGHTS[kind]}" for kind in kinds),
        **world.describe(),
    }
    rows: list[dict[str, Any]] = []
    budget_end = started + args.budget_s

    def section(name: str, fn: Callable[[], None]) -> None:
        if time.perf_counter() > budget_end:
            log.warning("skipping %s: the time budget of %ss is spent", name, args.budget_s)
            out[f"{name}_skipped"] = "time budget"
            return
        t0 = time.perf_counter()
        try:
            fn()
        except Exception as exc:  # one broken section must not lose the others' figures
            log.error("section %s failed:\n%s", name, traceback.format_exc())
            out[f"{name}_error"] = f"{type(exc).__name__}: {exc}"
        out[f"section_{name}_s"] = round(time.perf_counter() - t0, 1)

    def embed_runs() -> None:
        plan = gpu_plan(args.quick) if cuda else [Run(kind, "host", "pil", "fp32", 64) for kind in kinds]
        if args.batch:
            plan = [dataclasses.replace(run, batch=args.batch) for run in plan]
        for run in (r for r in plan if r.encoders in towers):
            if time.perf_counter() > budget_end:
                break
            row = measure_run(
                run, towers[run.encoders], text, device, world.posts, args.posts, args.host_threads
            )
            rows.append(row)
            out[f"{run.key}_posts_per_s"] = row["posts_per_s"]
            if cuda:
                out[f"{run.key}_gpu_decoded_ratio"] = row["gpu_decoded_ratio"]
        for kind in towers:
            best = max(
                (r for r in rows if r["encoders"] == kind), key=lambda r: r["posts_per_s"], default=None
            )
            if best is not None:
                out[f"best_{kind}_posts_per_s"] = best["posts_per_s"]
                out[f"best_{kind}_config"] = best["config"]

    def cpu_runs() -> None:
        cpu = torch.device("cpu")
        for kind, batch, n in (
            ("vit_b32", 64, args.cpu_posts),
            ("mobilenet_v2", 64, args.cpu_posts),
            ("default", 128, 4 * args.cpu_posts),
        ):
            if kind not in towers:
                continue
            run = Run(kind, "host", "pil", "fp32", batch)
            row = measure_run(run, copy.deepcopy(towers[kind]), copy.deepcopy(text), cpu, world.posts, n, 0)
            row["config"] = "cpu " + row["config"]
            rows.append(row)
            out[f"cpu_{kind}_posts_per_s"] = row["posts_per_s"]
            if f"best_{kind}_posts_per_s" in out:
                out[f"{kind}_gpu_over_cpu_ratio"] = round(
                    out[f"best_{kind}_posts_per_s"] / row["posts_per_s"], 1
                )

    section("embed", embed_runs)
    section("cpu_towers", lambda: out.update(cpu_tower_rates(towers, args.cpu_tower_images)))
    if cuda:
        section(
            "ceilings",
            lambda: out.update(ceilings(towers, text, device, world.posts, args.host_threads, args.quick)),
        )
        section(
            "accuracy",
            lambda: out.update(relative_errors(towers, text, device, world.posts[: args.accuracy_posts])),
        )
        section("cpu", cpu_runs)
        section(
            "state",
            lambda: out.update(state_update(device, args.state_posts, args.state_influencers, args.hidden)),
        )
        out.update(bound_of(out))
    else:
        section(
            "ceilings",
            lambda: out.update(ceilings(towers, text, device, world.posts, args.host_threads, True)),
        )
        section(
            "accuracy",
            lambda: out.update(relative_errors(towers, text, device, world.posts[: args.accuracy_posts])),
        )
        section(
            "state",
            lambda: out.update(state_update(device, args.state_posts, args.state_influencers, args.hidden)),
        )
    out["total_s"] = round(time.perf_counter() - started, 1)
    return _report(rows, out, args)


def _report(rows: list[dict[str, Any]], out: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    from streaming.bench.report import BenchReport, emit, unitless_key_problems

    for key in unitless_key_problems(out):  # a safety net: never lose a run's figures over a key's name
        log.error("figure %s names no unit; kept as text", key)
        out[key] = str(out[key])

    words = out["device"].lower().replace("nvidia", " ").split()
    card = "".join(c for c in (words[0] if words else "cpu") if c.isalnum())
    table = [
        {
            "encoders": ENCODER_PAIRS[r["encoders"]],
            "config": r["config"],
            "posts/s": r["posts_per_s"],
            "GPU-decoded": "-" if r["gpu_decoded_ratio"] is None else f"{r['gpu_decoded_ratio']:.0%}",
        }
        for r in rows
    ]
    marks = ("ceiling_", "rel_error_", "state_", "bound_", "best_", "world_", "_tower_", "_error", "_skipped")
    notes = [f"{k}: {out[k]}" for k in sorted(out) if any(m in k for m in marks) or "over_cpu" in k]
    report = BenchReport(f"embed_{card}", f"embed stage on {out['device']}", table, out, notes)
    return emit(report, args.json, Path(args.results_dir) if args.results_dir else None)


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m streaming.bench.embed",
        description=__doc__.split("\n\n")[0],
        epilog="examples:\n" + __doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--posts-dir", required=True, help="a world folder (scout generate) or dataset copy")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cuda or cpu")
    p.add_argument(
        "--encoders",
        default="vit_b32,mobilenet_v2,default",
        help=f"encoder pairs: {', '.join(ENCODER_PAIRS)}",
    )
    p.add_argument("--posts", type=int, default=8192, help="posts timed per GPU run")
    p.add_argument("--batch", type=int, default=0, help="one batch size for every run (0: the plan's)")
    p.add_argument("--distinct", type=int, default=2000, help="distinct posts read from the world")
    p.add_argument("--cpu-posts", type=int, default=192, help="posts timed for the CPU ViT run (x4 default)")
    p.add_argument(
        "--cpu-tower-images", type=int, default=256, help="images timed per image tower alone on the CPU"
    )
    p.add_argument("--accuracy-posts", type=int, default=128, help="posts compared against the CPU reference")
    p.add_argument("--host-threads", type=int, default=0, help="host decode threads (0: cores - 2)")
    p.add_argument("--text-model", default=None, help="text encoder folder (default: packaged MiniLM)")
    p.add_argument("--random-text-weights", action="store_true", help="ignore the folder's weights")
    p.add_argument("--state-posts", type=int, default=1_000_000)
    p.add_argument("--state-influencers", type=int, default=100_000)
    p.add_argument("--hidden", type=int, default=256, help="h's width in the state update")
    p.add_argument("--budget-s", type=float, default=300.0, help="skip what is left after this many seconds")
    p.add_argument("--quick", action="store_true", help="a few small runs only (smoke test)")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON line, last")
    p.add_argument(
        "--results-dir", default="bench/results", help="where embed_<card>.json goes ('' = nowhere)"
    )
    return p


if __name__ == "__main__":
    main()
