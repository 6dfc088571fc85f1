"""`scout bench replay`: wall time, posts/s and peak resident memory of `scout replay`, per world.

    scout bench replay --world build/bench/world-300k --world build/bench/world-600k --json

Each world is replayed by a child process (`scout replay WORLD --no-progress`) into a topic of
its own on the configured broker; its peak resident set size comes from the kernel's accounting of
that child (``os.wait4``), so it is the whole process: interpreter, reader, sort and producer.
``--python`` measures another interpreter's `scout replay` (another checkout's environment) on
the same worlds in the same run, for a before/after comparison side by side.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from streaming.bench.report import BenchReport, emit
from streaming.infra import kafka_admin

log = logging.getLogger(__name__)


def measure(python: str, world: Path, bootstrap: str, config: Path | None) -> dict[str, Any]:
    """Replay ``world`` with ``python -m streaming.cli replay`` into a new topic; that topic, and
    the events it holds, and the seconds and peak RSS of the child (ru_maxrss is in KiB)."""
    topic = f"bench-replay-{uuid.uuid4().hex[:8]}.posts"
    # -I: the child imports scout from its own environment, never from the current folder (which
    # would make every interpreter measure this checkout's code).
    args = [python, "-I", "-m", "streaming.cli"]
    if config is not None:
        args += ["--config", str(Path(config).resolve())]
    args += ["--set", f"kafka.bootstrap_servers={bootstrap}", "--set", f"kafka.topics.posts={topic}"]
    args += ["replay", str(world.resolve()), "--no-progress"]
    started = time.monotonic()
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.monotonic() - started
    stderr = child.stderr.read().decode(errors="replace") if child.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise typer.BadParameter(f"scout replay of {world} failed: {stderr[-800:]}")
    sent = sum(kafka_admin.end_offsets(bootstrap, topic).values())  # the events the replay wrote
    return {"topic": topic, "posts": sent, "seconds": seconds, "peak_rss_mib": usage.ru_maxrss / 1024}


def _interpreters(specs: list[str] | None) -> list[tuple[str, str]]:
    """``LABEL=PYTHON`` pairs (default: this interpreter, labelled "this")."""
    if not specs:
        return [("this", sys.executable)]
    pairs = [spec.split("=", 1) for spec in specs]
    if any(len(pair) != 2 or not pair[0].isidentifier() for pair in pairs):
        raise typer.BadParameter("--python takes LABEL=PYTHON, e.g. --python before=../old/.venv/bin/python")
    return [(label, path) for label, path in pairs]


def command(
    ctx: typer.Context,
    world: Annotated[list[Path], typer.Option(help="A world to replay (repeat for several sizes).")],
    python: Annotated[
        list[str] | None,
        typer.Option(help="LABEL=PYTHON: another environment's `scout replay` to measure (repeatable)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON object last.")] = False,
) -> None:
    """Wall time, posts/s and peak memory of `scout replay` on each world.

    Example: scout bench replay --world build/bench/world-300k --json
    """
    from streaming.cli import settings_of

    settings = settings_of(ctx)
    config = ctx.find_root().params.get("config")
    interpreters = _interpreters(python)
    report = BenchReport("replay", "scout replay: wall time, posts/s and peak resident memory")
    for folder in world:
        for label, interpreter in interpreters:
            run = measure(interpreter, folder, settings.kafka.bootstrap_servers, config)
            posts = run["posts"]
            report.rows.append(
                {
                    "world": folder.name,
                    "replay": label,
                    "posts": posts,
                    "seconds": run["seconds"],
                    "posts_per_s": posts / run["seconds"],
                    "peak_rss_mib": run["peak_rss_mib"],
                }
            )
            key = "replay" if len(interpreters) == 1 else f"replay_{label}"
            report.figures[f"{key}_seconds_s_{posts}"] = round(run["seconds"], 2)
            report.figures[f"{key}_posts_per_s_{posts}"] = round(posts / run["seconds"], 1)
            report.figures[f"{key}_peak_rss_mib_{posts}"] = round(run["peak_rss_mib"], 1)
    emit(report, as_json)
