"""`scout kafka start|stop|status`: the local single-node broker of the [broker] settings."""

from __future__ import annotations

import typer

from streaming.errors import BrokerError

app = typer.Typer(
    help="Run a local Apache Kafka broker (KRaft, one node on loopback) with the project's topics.\n\n"
    "Example: scout kafka start && scout kafka status && scout kafka stop",
    no_args_is_help=True,
)


def _broker(ctx: typer.Context):  # -> KafkaBroker; imported lazily to keep `scout --help` fast
    from streaming.cli import settings_of
    from streaming.infra.kafka_broker import KafkaBroker

    settings = settings_of(ctx)
    return KafkaBroker(settings.broker, settings.kafka)


def _describe(status) -> str:
    state = "running" if status.running else "not running"
    if status.running and not status.answering:
        state += " (not answering yet)"
    lines = [
        f"broker:      {state}",
        f"pid:         {status.pid if status.pid is not None else '-'}",
        f"bootstrap:   {status.bootstrap_servers}",
        f"controller:  port {status.controller_port}",
        f"data dir:    {status.data_dir}",
        f"log file:    {status.log_file}",
    ]
    if status.answering:
        lines.append(f"topics:      {', '.join(status.topics) or '-'}")
    return "\n".join(lines)


@app.command()
def start(ctx: typer.Context) -> None:
    """Format storage (first time), start the broker detached, wait for it, create the topics.

    Example: scout --set broker.port=19092 --set broker.controller_port=19093 kafka start
    """
    try:
        status = _broker(ctx).start()
    except BrokerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(_describe(status))


@app.command()
def stop(ctx: typer.Context) -> None:
    """Stop the broker started by `scout kafka start` (SIGTERM to its own pid, then SIGKILL).

    Example: scout kafka stop
    """
    try:
        stopped = _broker(ctx).stop()
    except BrokerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo("broker stopped" if stopped else "broker was not running")


@app.command()
def status(ctx: typer.Context) -> None:
    """Show pid, ports, data dir, log file and topics; exits 1 when the broker is not running.

    Example: scout kafka status
    """
    current = _broker(ctx).status()
    typer.echo(_describe(current))
    if not current.running:
        raise typer.Exit(1)
