"""`scout demo`: the whole system on one machine, from a bare clone to a page in the browser.

The steps, in order (each reuses what an earlier run left in the work folder):

1. Kafka: use the broker at ``kafka.bootstrap_servers`` when it answers, else start the local one.
2. Data: the ``--dataset`` folder (public layout), else a small synthetic world generated once.
3. Model: ``scout train`` on that dataset, unless the work folder already holds a model (use another
   ``--work`` folder for another dataset).
4. The streaming job (``scout stream``, a fresh checkpoint starting at the current end of ``posts``)
   and the look-up service (``scout serve``), each in its own process, configured by one TOML
   file written into the work folder.
5. Replay the posts into ``posts`` at a steady rate; print the page and metrics URLs.
6. Run until interrupted or for ``--duration`` seconds; stop everything it started, newest first.
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import typer

from streaming.errors import DemoError
from streaming.infra.wait import http_ok, wait_until

log = logging.getLogger(__name__)


@dataclass
class Children:
    """Processes started by the demo, stopped in reverse order by their own pids."""

    log_dir: Path
    procs: list[tuple[str, subprocess.Popen]] = field(default_factory=list)

    def start(self, name: str, args: list[str]) -> subprocess.Popen:
        log_file = self.log_dir / f"{name}.log"
        with log_file.open("ab") as out:
            proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, proc))
        log.info("started %s (pid %d), log %s", name, proc.pid, log_file)
        return proc

    def check(self, may_finish: frozenset[str] = frozenset()) -> None:
        """Fail when a child failed, or when one not in ``may_finish`` ended at all."""
        for name, proc in self.procs:
            code = proc.poll()
            if code is not None and (code != 0 or name not in may_finish):
                raise DemoError(f"{name} exited with code {code}; see {self.log_dir / name}.log")

    def stop_all(self, timeout_s: float = 30.0) -> None:
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout_s)
                except subprocess.TimeoutExpired:
                    log.warning("%s (pid %d) ignored SIGTERM; killing it", name, proc.pid)
                    proc.kill()
                    proc.wait()
            log.info("stopped %s", name)


def _scout(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "streaming.cli", "--config", str(config), *args]


def _write_config(
    path: Path,
    bootstrap: str,
    starting_offsets: str,
    model: Path,
    world: Path,
    work: Path,
    port: int,
    metrics_port: int,
) -> None:
    def q(value: object) -> str:
        return json.dumps(str(value))

    path.write_text(
        "\n".join(
            [
                "# Written by `scout demo`: the settings shared by the job, the service and the replay.",
                "[kafka]",
                f"bootstrap_servers = {q(bootstrap)}",
                "",
                "[spark]",
                f"checkpoint_dir = {q(work / 'checkpoint')}",
                "trigger_seconds = 1.0",
                f"starting_offsets = {q(starting_offsets)}",
                "",
                "[job]",
                f"model_dir = {q(model)}",
                f"image_roots = [{q(world)}]",
                f"metrics_port = {metrics_port}",
                "",
                "[service]",
                f"port = {port}",
                "",
            ]
        )
    )


def _run(args: list[str], what: str) -> None:
    log.info("%s: %s", what, " ".join(args[2:]))
    completed = subprocess.run(args)
    if completed.returncode != 0:
        raise DemoError(f"{what} failed with code {completed.returncode}")


def _wait_http(url: str, timeout_s: float, children: Children) -> None:
    def answers() -> bool:
        children.check()  # a child that died ends the wait with its own DemoError
        return http_ok(url)

    wait_until(
        answers,
        timeout_s=timeout_s,
        interval_s=1.0,
        timed_out=lambda: DemoError(f"{url} did not answer within {timeout_s:.0f}s"),
    )


def demo(
    ctx: typer.Context,
    dataset: Path | None = typer.Option(None, help="Dataset in the public layout (default: generated)."),
    work: Path = typer.Option(Path("build/demo"), help="Work folder: world, model, checkpoint, logs."),
    influencers: int = typer.Option(60, min=10, help="Influencers of the generated world."),
    posts: int = typer.Option(40, min=10, help="Posts per influencer of the generated world."),
    rate: float = typer.Option(25.0, min=0.1, help="Replay rate, posts per second."),
    duration: float = typer.Option(0.0, min=0, help="Seconds to run; 0 = until Ctrl-C."),
    port: int = typer.Option(8000, help="Port of the look-up service."),
    metrics_port: int = typer.Option(9108, help="Port of the job's /metrics."),
) -> None:
    """Run the whole pipeline: Kafka, world, model, streaming job, service, replay.

    Example: scout demo --duration 120 --rate 50
    """
    from streaming.cli import settings_of
    from streaming.infra import kafka_admin
    from streaming.infra.kafka_broker import ensure_broker
    from streaming.infra.spark import starting_offsets

    work = work.resolve()
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    settings, started_broker = ensure_broker(settings_of(ctx))
    children = Children(logs)
    interrupted = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal interrupted
        interrupted = True

    signal.signal(signal.SIGTERM, on_signal)
    try:
        world = dataset.resolve() if dataset else work / "world"
        config = work / "scout.toml"
        model = work / "model"
        # Each run profiles the posts it replays: a fresh checkpoint that starts at the current end
        # of `posts` (an earlier run's checkpoint and posts would count the same posts twice).
        kafka = settings.kafka
        ends = kafka_admin.end_offsets(kafka.bootstrap_servers, kafka.topics.posts, kafka.client_properties)
        starting = starting_offsets(kafka.topics.posts, ends)
        shutil.rmtree(work / "checkpoint", ignore_errors=True)
        _write_config(config, kafka.bootstrap_servers, starting, model, world, work, port, metrics_port)
        if dataset is None and not (world / "influencers.txt").exists():
            _run(
                _scout(
                    config,
                    "generate",
                    str(world),
                    "--influencers",
                    str(influencers),
                    "--posts",
                    str(posts),
                    "--seed",
                    "7",
                    "--no-progress",
                ),
                "generate a world",
            )
        if not (model / "model.json").exists():
            # a demo-sized world learns in a few epochs at the larger rate (held-out 1.00 against 0.89
            # at the default 5e-4 within 40 epochs, 60 x 40 posts)
            _run(
                _scout(
                    config,
                    "train",
                    str(world),
                    "--out",
                    str(model),
                    "--epochs",
                    "40",
                    "--lr",
                    "2e-3",
                    "--cache-dir",
                    str(work / "features"),
                    "--no-progress",
                ),
                "train the model",
            )
        children.start("stream", _scout(config, "stream"))
        children.start("serve", _scout(config, "serve"))
        page = f"http://127.0.0.1:{port}/"
        _wait_http(page + "health", 180.0, children)
        replay = _scout(config, "replay", str(world), "--rate", str(rate), "--no-progress")
        children.start("replay", replay)
        typer.echo(
            "\n".join(
                [
                    f"page:            {page}",
                    f"service metrics: {page}metrics",
                    f"job metrics:     http://127.0.0.1:{metrics_port}/metrics",
                    f"logs:            {logs}",
                    "Ctrl-C stops everything the demo started."
                    if duration == 0
                    else f"running for {duration:.0f}s",
                ]
            )
        )
        began = time.monotonic()
        while not interrupted and (duration == 0 or time.monotonic() - began < duration):
            children.check(may_finish=frozenset({"replay"}))
            time.sleep(1.0)
    except KeyboardInterrupt:
        log.info("interrupted")
    except DemoError as exc:
        log.error("demo failed: %s", exc)
        raise typer.Exit(1) from exc
    finally:
        children.stop_all()
        if started_broker is not None:
            started_broker.stop()
    typer.echo("demo stopped; everything it started is stopped")
