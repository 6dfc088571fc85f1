"""`scout bench replay`: the child replay it measures really sends the world, and its interpreter
labels are checked."""

from __future__ import annotations

import sys

import pytest
import typer

from streaming.bench.replay import _interpreters, measure
from streaming.infra import kafka_admin
from training.synth import WorldKnobs
from training.synth.writer import generate_world


def test_interpreters_are_labelled_pairs() -> None:
    assert _interpreters(None) == [("this", sys.executable)]
    assert _interpreters(["before=/a/python", "after=/b/python"]) == [
        ("before", "/a/python"),
        ("after", "/b/python"),
    ]
    with pytest.raises(typer.BadParameter, match="LABEL=PYTHON"):
        _interpreters(["/just/a/path"])


@pytest.mark.integration
def test_measure_replays_the_whole_world_in_a_child(tmp_path, kafka_broker) -> None:
    knobs = WorldKnobs(influencers=6, posts=10, seed=2, image_size=16)
    world = generate_world(tmp_path / "w", knobs, progress=False).out
    run = measure(sys.executable, world, kafka_broker.bootstrap_servers, None)
    assert run["seconds"] > 0 and run["peak_rss_mib"] > 20  # a whole interpreter with its libraries
    sent = kafka_admin.read_topic(kafka_broker.bootstrap_servers, run["topic"], timeout_s=30)
    assert len(sent) == run["posts"] == 60  # every post of the world, counted from the topic
