"""`scout`: the one command line of Influencer Scout.

Each area owns its sub-commands in its own module (heavy imports stay inside the command
functions, so `scout --help` is instant); this file only wires them and reads the settings once.

    scout --help
    scout --set kafka.bootstrap_servers=127.0.0.1:19092 kafka status
"""

from __future__ import annotations

import importlib
import json
import logging
from pathlib import Path

import typer

from streaming.config import ScoutSettings, load_settings

app = typer.Typer(
    name="scout",
    help="Influencer Scout: find influencers by topic and by likeness, live.",
    no_args_is_help=True,
    add_completion=False,
)

# (module, attribute, name): a typer.Typer added as a group, or a function added as a command.
SUBCOMMANDS: list[tuple[str, str, str]] = [
    ("streaming.infra.kafka_cli", "app", "kafka"),
    ("streaming.roundtrip", "roundtrip", "roundtrip"),
    ("streaming.demo", "demo", "demo"),
    ("training.cli_data", "generate", "generate"),
    ("training.cli_data", "dataset_app", "dataset"),
    ("training.cli_features", "features", "features"),
    ("training.cli_train", "train", "train"),
    ("training.cli_train", "evaluate", "evaluate"),
    ("streaming.replay_cli", "replay", "replay"),
    ("streaming.service.cli", "serve", "serve"),
    ("streaming.job.cli", "stream", "stream"),
    ("streaming.bench.cli", "app", "bench"),
]


def parse_overrides(items: list[str]) -> dict[str, object]:
    """`--set key=value` items as dotted overrides; lists and tables are JSON
    (``--set 'job.image_roots=["build/world"]'``)."""
    overrides: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"--set expects key=value, got {item!r}")
        if value[:1] in "[{":
            try:
                overrides[key.strip()] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise typer.BadParameter(f"--set {key.strip()}: {value!r} is not valid JSON ({exc})") from exc
        else:
            overrides[key.strip()] = value
    return overrides


@app.callback()
def main(
    ctx: typer.Context,
    config: Path | None = typer.Option(None, "--config", help="TOML settings file."),
    set_: list[str] = typer.Option(
        [], "--set", help="Override one setting, e.g. --set job.tau_seconds=86400 (repeatable)."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # kafka-python and py4j (Spark's gateway) log every connection at INFO.
    for chatty in ("kafka", "py4j"):
        logging.getLogger(chatty).setLevel(logging.DEBUG if verbose else logging.WARNING)
    ctx.obj = load_settings(config, parse_overrides(set_))


def settings_of(ctx: typer.Context) -> ScoutSettings:
    """The settings read once by the root callback."""
    root = ctx.find_root()
    assert isinstance(root.obj, ScoutSettings), "scout's root callback did not run"
    return root.obj


for _module, _attr, _name in SUBCOMMANDS:
    _target = getattr(importlib.import_module(_module), _attr)
    if isinstance(_target, typer.Typer):
        app.add_typer(_target, name=_name)
    else:
        app.command(name=_name)(_target)


if __name__ == "__main__":
    app()
