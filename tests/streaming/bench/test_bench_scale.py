"""`scout bench scale`'s measurements: the peak memory of a step counts the whole process tree,
and the flows run the commands they name."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import typer

from streaming.bench.scale import _flow_steps, _kind, run_step

# A parent that starts a child holding 300 MiB, while itself holding 100 MiB.
_TREE = """
import subprocess, sys, time
held = bytearray(100 * 2**20)
child = subprocess.Popen([sys.executable, "-c", "import time; b = bytearray(300 * 2**20); time.sleep(1.5)"])
child.wait()
"""


def test_peak_memory_counts_the_children_of_a_step(tmp_path: Path) -> None:
    run = run_step([sys.executable, "-c", _TREE], tmp_path / "step.log")
    assert run["peak_rss_mib"] >= 390  # 100 + 300 MiB at once, the interpreters on top
    # the parent alone (the kernel's figure also counts the forking process's size before exec)
    assert run["child_peak_rss_mib"] >= 100
    assert run["seconds"] >= 1.5
    # private pages: the proportional sum sees them all too, and no more than the resident sum
    assert 390 <= run["peak_pss_mib"] <= run["peak_rss_mib"] + 1
    assert set(run["peak_pss_by_kind_mib"]) == {"scout"}  # neither a JVM nor a Spark worker here


# A parent whose 200 MiB, written before it forks, stay shared with its child until the end.
_SHARED = """
import os, time
shared = b"x" * (200 * 2**20)  # one object, written once (a bytearray of it would copy it)
pid = os.fork()
time.sleep(1.5)
if pid:
    os.waitpid(pid, 0)
"""


def test_pages_shared_by_the_tree_count_once_in_the_proportional_sum(tmp_path: Path) -> None:
    run = run_step([sys.executable, "-c", _SHARED], tmp_path / "step.log")
    assert run["peak_rss_mib"] >= 400  # each process's resident set holds the 200 MiB
    assert run["peak_pss_mib"] < run["peak_rss_mib"] - 150  # the tree holds them once


def test_processes_are_told_apart_by_command() -> None:
    assert _kind(b"/usr/lib/jvm/bin/java\0-cp\0x") == "jvm"
    assert _kind(b"python\0-m\0pyspark.daemon\0pyspark.worker") == "spark_python"
    assert _kind(b"python\0-m\0streaming.cli\0features\0java") == "scout"


def test_the_store_flow_writes_the_store_then_reads_it(tmp_path: Path) -> None:
    steps = dict(_flow_steps("store", "py", Path("w"), tmp_path, Path("enc"), Path("cnn"), epochs=3))
    assert list(steps) == ["features", "train", "evaluate"]
    store = str(tmp_path / "store")
    assert steps["features"][4:6] == ["features", "w"] and "--model" in steps["features"]
    assert steps["train"][-2:] == ["--features", store] and steps["evaluate"][-2:] == ["--features", store]
    tuned = dict(_flow_steps("store", "py", Path("w"), tmp_path, Path("e"), Path("c"), 3, ("a.b=1",)))
    assert all(args[3:6] == ["streaming.cli", "--set", "a.b=1"] for args in tuned.values())
    memory = dict(_flow_steps("in_memory", "py", Path("w"), tmp_path, Path("enc"), None, epochs=3))
    assert list(memory) == ["train", "evaluate"] and "--features" not in memory["train"]
    assert memory["train"][memory["train"].index("--text-encoder") + 1] == "enc"


def test_a_sampled_flow_trains_the_cnn_it_then_writes_the_store_with(tmp_path: Path) -> None:
    steps = dict(_flow_steps("store", "py", Path("w"), tmp_path, Path("enc"), None, 3, sample=40))
    assert list(steps) == ["sample", "features", "train", "evaluate"]
    sampled, features = steps["sample"], steps["features"]
    assert sampled[4:6] == ["train", "w"] and sampled[sampled.index("--sample-influencers") + 1] == "40"
    cnn = sampled[sampled.index("--out") + 1]
    assert (
        features[features.index("--model") + 1] == cnn
        and cnn != steps["train"][steps["train"].index("--out") + 1]
    )
    with pytest.raises(typer.BadParameter, match="--sample-influencers"):
        _flow_steps("store", "py", Path("w"), tmp_path, Path("enc"), None, 3)
