"""The Kafka source's startingOffsets JSON built from partition offsets."""

from __future__ import annotations

import json

from streaming.infra.spark import starting_offsets


def test_starting_offsets_name_each_partition_as_a_string_key() -> None:
    text = starting_offsets("posts", {0: 12, 1: 0, 3: 7})
    assert json.loads(text) == {"posts": {"0": 12, "1": 0, "3": 7}}
    assert json.loads(starting_offsets("posts", {})) == {"posts": {}}
