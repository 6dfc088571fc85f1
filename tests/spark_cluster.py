"""A Spark standalone cluster on loopback (a master and two one-core workers, started with
pyspark's own `spark-class`) for the tests that run a step on a cluster selected by configuration
only (spark.master = spark://...): tests/conftest.py's ``standalone_cluster`` fixture starts it once
per session and stops it after."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# One executor core on each worker, within the worker's 1200m.
EXECUTOR_CONF = {"spark.executor.memory": "800m", "spark.executor.cores": "1"}


@dataclass(frozen=True)
class Cluster:
    master_url: str
    status_url: str  # the master's JSON status page

    def status(self) -> dict:
        with urllib.request.urlopen(self.status_url, timeout=5) as answer:
            return json.load(answer)

    def completed_app(self, name: str, timeout_s: float = 60.0) -> dict:
        """The master's record of a finished application (it appears shortly after the app ends)."""
        deadline = time.monotonic() + timeout_s
        while True:
            apps = [app for app in self.status()["completedapps"] if app["name"] == name]
            if apps:
                return apps[-1]
            assert time.monotonic() < deadline, f"the master never listed {name!r} as completed"
            time.sleep(1)

    def run_scout(self, *args: str, timeout_s: float = 600) -> None:
        """`scout ARGS` as a process of its own on this cluster, chosen by configuration only
        (spark.master and the executors' conf); fails with the command's output if it fails."""
        command = [sys.executable, "-m", "streaming.cli", "--set", f"spark.master={self.master_url}"]
        command += ["--set", f"spark.extra_conf={json.dumps(EXECUTOR_CONF)}", *args]
        env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout_s)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def _spark_class(*args: str, log_file: Path) -> subprocess.Popen:
    import pyspark

    home = Path(pyspark.__file__).parent
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1"}
    with log_file.open("ab") as out:
        return subprocess.Popen(
            [str(home / "bin" / "spark-class"), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@contextmanager
def running_cluster(logs: Path, free_port: Callable[[], int]) -> Iterator[Cluster]:
    """A master and two one-core workers, up once the master lists both; stopped on exit."""
    port, ui = free_port(), free_port()
    processes = [
        _spark_class(
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webui-port",
            str(ui),
            log_file=logs / "master.log",
        )
    ]
    cluster = Cluster(f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui}/json/")
    try:
        for n in range(2):
            processes.append(
                _spark_class(
                    "org.apache.spark.deploy.worker.Worker",
                    cluster.master_url,
                    "--host",
                    "127.0.0.1",
                    "--cores",
                    "1",
                    "--memory",
                    "1200m",
                    "--webui-port",
                    str(free_port()),
                    "--work-dir",
                    str(logs / f"work{n}"),
                    log_file=logs / f"worker{n}.log",
                )
            )
        deadline = time.monotonic() + 180
        while True:
            try:
                if cluster.status().get("aliveworkers") == 2:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (logs / "master.log").read_text(errors="replace")[-4000:]
            time.sleep(1)
        yield cluster
    finally:
        for process in reversed(processes):
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
