"""The root command: --set overrides reach the settings, JSON for lists, clear errors otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from streaming.cli import parse_overrides
from streaming.config import load_settings


def test_overrides_parse_scalars_and_json_lists():
    overrides = parse_overrides(["kafka.bootstrap_servers=127.0.0.1:19092", 'job.image_roots=["a", "b"]'])
    settings = load_settings(None, overrides, environ={})
    assert settings.kafka.bootstrap_servers == "127.0.0.1:19092"
    assert settings.job.image_roots == (Path("a"), Path("b"))


@pytest.mark.parametrize("item", ["no-equals-sign", "=value", "job.image_roots=[unclosed"])
def test_bad_overrides_are_named(item):
    with pytest.raises(typer.BadParameter):
        parse_overrides([item])
