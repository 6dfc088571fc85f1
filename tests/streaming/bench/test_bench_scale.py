"""`scout bench scale`'s measurements: the peak memory of a step counts the whole process tree,
and the flows run the commands they name."""

from __future__ import annotations

import sys
from pathlib import Path

from streaming.bench.scale import _flow_steps, run_step

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


def test_the_store_flow_writes_the_store_then_reads_it(tmp_path: Path) -> None:
    steps = dict(_flow_steps("store", "py", Path("w"), tmp_path, Path("enc"), Path("cnn"), epochs=3))
    assert list(steps) == ["features", "train", "evaluate"]
    store = str(tmp_path / "store")
    assert steps["features"][4:6] == ["features", "w"] and "--model" in steps["features"]
    assert steps["train"][-2:] == ["--features", store] and steps["evaluate"][-2:] == ["--features", store]
    memory = dict(_flow_steps("in_memory", "py", Path("w"), tmp_path, Path("enc"), None, epochs=3))
    assert list(memory) == ["train", "evaluate"] and "--features" not in memory["train"]
    assert memory["train"][memory["train"].index("--text-encoder") + 1] == "enc"
