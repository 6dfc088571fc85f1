"""`scout bench scale`: wall time, posts/s and peak memory of the batch side, step by step, per world.

    scout bench scale --world build/bench/world-300k --world build/bench/world-600k \
        --cnn-model build/bench/cnn-model --text-encoder build/bench/text-1layer \
        --python before=../main-before/.venv/bin/python --json

Two flows, each step a child process (``python -I -m streaming.cli …``):

* ``in_memory`` (any checkout's interpreter, ``--python LABEL=PY``): `scout train WORLD` (post table,
  text and image features, the compact CNN stage and the profiler, all in one process) and
  `scout evaluate WORLD --folds 0`;
* ``store`` (this checkout): `scout features WORLD --model CNN_MODEL` (the Spark job writing the
  feature store), `scout train WORLD --features STORE` and `scout evaluate … --features STORE`.
  With ``--sample-influencers N`` the flow first trains CNN_MODEL itself, as the step ``sample``:
  `scout train WORLD --sample-influencers N` (the compact CNN on N influencers of the world).

A step's peak memory is the largest sum, sampled every ``SAMPLE_S``, of the resident sets of the
child and every process under it (Spark's JVM and Python workers included); beside it the largest
sum of their proportional sets (PSS: a page shared by k processes, such as torch's libraries mapped
by every Python worker, counts 1/k in each, so the sum is the tree's own memory), the PSS of each
kind of process at that peak (``jvm``, ``spark_python`` workers, the ``scout`` command), and the
child's own peak (``os.wait4``'s ru_maxrss). The Spark ML baselines are left out of evaluate
(``--spark-master none``) so the figures are the profiler's path; both flows are measured alike.

``--text-encoder`` names the text encoder both flows use. On a two-core machine all-MiniLM-L6-v2
embeds a few dozen posts a second, so runs over 300k and 600k posts would take days; a folder that
does not exist yet is created as a BERT without transformer layers (all-MiniLM-L6-v2's tokenizer
and width, 384, seeded random token embeddings, mean-pooled): every array of every step is as wide
as with MiniLM, and the encoder's compute is left out. Accuracy figures from such runs mean nothing
and are not reported; MiniLM's own speed is measured by `scout bench embed`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from streaming.bench.replay import _interpreters
from streaming.bench.report import BenchReport, emit

log = logging.getLogger(__name__)

SAMPLE_S = 0.25


def _kind(cmdline: bytes) -> str:
    if b"java" in cmdline.split(b"\0", 1)[0]:
        return "jvm"
    return "spark_python" if b"pyspark.daemon" in cmdline or b"pyspark.worker" in cmdline else "scout"


def tree_memory(root: int) -> tuple[int, int, dict[str, int]]:
    """Resident and proportional bytes of ``root`` and all its descendants, from /proc, and the
    proportional bytes per kind of process (zeros once it is gone)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))  # fields[1]: the parent's pid
    rss = pss = 0
    kinds: dict[str, int] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
                sizes = dict(line.split()[:2] for line in rollup.read().splitlines()[1:])
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                kind = _kind(cmdline.read())
        except (OSError, ValueError):
            continue
        rss += int(sizes.get(b"Rss:", 0)) * 1024
        pss += int(sizes.get(b"Pss:", 0)) * 1024
        kinds[kind] = kinds.get(kind, 0) + int(sizes.get(b"Pss:", 0)) * 1024
    return rss, pss, kinds


def run_step(args: list[str], log_file: Path) -> dict[str, Any]:
    """Run one step; its seconds and peak memory (MiB): of its process tree (RSS and PSS), of each
    kind of process at the PSS peak, and of the child alone."""
    peak = {"rss": 0, "pss": 0}
    at_peak: dict[str, int] = {}
    with log_file.open("wb") as out:
        started = time.monotonic()
        child = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                rss, pss, kinds = tree_memory(child.pid)
                peak["rss"] = max(peak["rss"], rss)
                if pss > peak["pss"]:
                    peak["pss"] = pss
                    at_peak.clear()
                    at_peak.update(kinds)
                done.wait(SAMPLE_S)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.monotonic() - started
        done.set()
        sampler.join()
    if os.waitstatus_to_exitcode(status) != 0:
        tail = log_file.read_text(errors="replace")[-1200:]
        raise typer.BadParameter(f"{' '.join(args[3:6])} failed (log {log_file}): {tail}")
    return {
        "seconds": seconds,
        "peak_rss_mib": peak["rss"] / 2**20,
        "peak_pss_mib": peak["pss"] / 2**20,
        "peak_pss_by_kind_mib": {kind: round(size / 2**20, 1) for kind, size in sorted(at_peak.items())},
        "child_peak_rss_mib": usage.ru_maxrss / 1024,
    }


def one_layer_text_encoder(folder: Path) -> Path:
    """Create the benchmark text encoder described above (once; an existing folder is kept)."""
    if (folder / "config.json").is_file():
        return folder
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from training.encoders.text import resolve_text_model_path

    minilm = resolve_text_model_path(None)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=AutoTokenizer.from_pretrained(minilm, local_files_only=True).vocab_size,
        hidden_size=384,
        num_hidden_layers=0,
        num_attention_heads=6,
    )
    folder.mkdir(parents=True, exist_ok=True)
    BertModel(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(minilm, local_files_only=True).save_pretrained(folder)
    return folder


def _scout(python: str, *args: str) -> list[str]:
    # -I: the child imports scout from its own environment, never from the current folder.
    return [python, "-I", "-m", "streaming.cli", *args]


def _flow_steps(
    flow: str,
    python: str,
    world: Path,
    work: Path,
    encoder: Path,
    cnn_model: Path | None,
    epochs: int,
    settings: tuple[str, ...] = (),
    sample: int | None = None,
) -> list[tuple[str, list[str]]]:
    model, report, common = work / "model", work / "report", ["--no-progress"]
    evaluate = ["evaluate", str(world), "--model", str(model), "--out", str(report), "--folds", "0"]
    evaluate += ["--spark-master", "none", *common]
    train = ["train", str(world), "--out", str(model), "--epochs", str(epochs), *common]
    if flow == "in_memory":
        train += ["--text-encoder", str(encoder), "--cache-dir", str(work / "cache")]
        return [("train", _scout(python, *train)), ("evaluate", _scout(python, *evaluate))]
    store, overrides = work / "store", [arg for item in settings for arg in ("--set", item)]
    steps: list[tuple[str, list[str]]] = []
    if sample is not None:
        cnn_model = work / "cnn-model"
        sampled = ["train", str(world), "--out", str(cnn_model), "--sample-influencers", str(sample)]
        sampled += ["--epochs", str(epochs), "--text-encoder", str(encoder), *common]
        sampled += ["--cache-dir", str(work / "sample-cache")]
        steps.append(("sample", _scout(python, *overrides, *sampled)))
    if cnn_model is None:
        raise typer.BadParameter(
            "the store flow needs --cnn-model or --sample-influencers (the encoders that write the store)"
        )
    features = [*overrides, "features", str(world), "--out", str(store), "--model", str(cnn_model)]
    features += ["--device", "cpu"]
    return [
        *steps,
        ("features", _scout(python, *features)),
        ("train", _scout(python, *overrides, *train, "--features", str(store))),
        ("evaluate", _scout(python, *overrides, *evaluate, "--features", str(store))),
    ]


def command(
    world: Annotated[list[Path], typer.Option(help="A world (repeat for several sizes).")],
    work: Annotated[Path, typer.Option(help="Folder for the runs' models, stores, reports and logs.")],
    text_encoder: Annotated[
        Path, typer.Option(help="Text encoder folder of both flows (created as described when missing).")
    ],
    cnn_model: Annotated[
        Path | None, typer.Option(help="Model folder whose encoders write the store (store flow).")
    ] = None,
    python: Annotated[
        list[str] | None,
        typer.Option(
            help="LABEL=PYTHON: the environment(s) whose in-memory flow to measure (repeatable; "
            "default: this one)."
        ),
    ] = None,
    flows: Annotated[str, typer.Option(help="Comma-separated: in_memory, store.")] = "in_memory,store",
    store_set: Annotated[
        list[str] | None,
        typer.Option(
            help="KEY=VALUE given as `scout --set` to the store flow's steps (repeatable), e.g. "
            "spark.driver_memory=1g."
        ),
    ] = None,
    sample_influencers: Annotated[
        int | None,
        typer.Option(
            help="Store flow: train its compact CNN first, on N influencers of each world "
            "(`scout train --sample-influencers N`, the step `sample`), instead of --cnn-model."
        ),
    ] = None,
    epochs: Annotated[int, typer.Option(help="Profiler epochs of each train step.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON object last.")] = False,
) -> None:
    """Wall time, posts/s and peak memory of features, train and evaluate, in memory and from the store.

    Example: scout bench scale --world build/bench/world-300k --work build/bench/scale
    --text-encoder build/bench/text-1layer --cnn-model build/bench/cnn-model --json
    """
    encoder = one_layer_text_encoder(text_encoder)
    others = _interpreters(python) if python else []
    runs: list[tuple[str, str, str]] = []  # (label, python, flow)
    for flow in [f.strip() for f in flows.split(",") if f.strip()]:
        if flow == "in_memory":
            runs += [(label, py, flow) for label, py in (others or [("this", sys.executable)])]
        elif flow == "store":
            runs.append(("this", sys.executable, flow))
        else:
            raise typer.BadParameter(f"unknown flow {flow!r}: in_memory or store")
    report = BenchReport("scale", "batch side per step: wall time, posts/s, peak resident memory")
    for folder in world:
        for label, interpreter, flow in runs:
            place = work / f"{folder.name}-{label}-{flow}"
            shutil.rmtree(place, ignore_errors=True)
            place.mkdir(parents=True)
            settings = tuple(store_set or ()) if flow == "store" else ()
            steps = _flow_steps(
                flow,
                interpreter,
                folder.resolve(),
                place,
                encoder,
                cnn_model,
                epochs,
                settings,
                sample_influencers if flow == "store" else None,
            )
            posts = _world_posts(folder)
            for step, args in steps:
                run = run_step(args, place / f"{step}.log")
                report.rows.append(
                    {
                        "world": folder.name,
                        "code": label,
                        "flow": flow,
                        "step": step,
                        "posts": posts,
                        "seconds": run["seconds"],
                        "posts_per_s": posts / run["seconds"],
                        "peak_rss_mib": run["peak_rss_mib"],
                        "peak_pss_mib": run["peak_pss_mib"],
                        "peak_pss_by_kind_mib": run["peak_pss_by_kind_mib"],
                        "child_peak_rss_mib": run["child_peak_rss_mib"],
                        "settings": list(settings),
                    }
                )
                key = f"{label}_{flow}_{step}"
                report.figures[f"{key}_seconds_s_{posts}"] = round(run["seconds"], 1)
                report.figures[f"{key}_posts_per_s_{posts}"] = round(posts / run["seconds"], 1)
                report.figures[f"{key}_peak_rss_mib_{posts}"] = round(run["peak_rss_mib"], 1)
                report.figures[f"{key}_peak_pss_mib_{posts}"] = round(run["peak_pss_mib"], 1)
                log.info("%s %s %s %s: %s", folder.name, label, flow, step, run)
    report.notes.append(f"text encoder: {encoder} (see `scout bench scale --help`)")
    emit(report, as_json)


def _world_posts(world: Path) -> int:
    """The posts of a generated world, from its knobs (before any model exists)."""
    knobs = json.loads((world / "world.json").read_text())["knobs"]
    return int(knobs["influencers"]) * int(knobs["posts"])
