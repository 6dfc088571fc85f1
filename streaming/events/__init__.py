"""Event contracts on Kafka: JSON Schema files beside the code that writes them."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

SCHEMA_VERSION = 1


@cache
def load_schema(name: str) -> dict:
    """The JSON Schema ``<name>.schema.json`` of this package (post_event, profile, ...)."""
    text = resources.files(__package__).joinpath(f"{name}.schema.json").read_text()
    return json.loads(text)
