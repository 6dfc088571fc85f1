"""A real Prometheus server (Debian's ``prometheus`` binary) on loopback, for the demo and the tests.

``PrometheusServer`` writes a scrape configuration for the given targets into its data directory,
starts the binary bound to 127.0.0.1, waits until it is ready, and stops its own process (SIGTERM,
then SIGKILL) on ``stop()``. ``query`` and ``targets`` read its HTTP API. The configuration is
written as JSON, which Prometheus' YAML reader accepts, so no YAML library is needed::

    with PrometheusServer(Path("build/prometheus"), port=9090) as prom:
        prom.start([ScrapeTarget("scout-service", "127.0.0.1:8000")],
                   rule_files=[Path("deploy/prometheus/alerts.yml")])
        prom.query("scout_service_profiles")
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from streaming.errors import PrometheusError
from streaming.infra.wait import http_ok, wait_until

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScrapeTarget:
    job: str
    address: str  # host:port
    metrics_path: str = "/metrics"


def scrape_config(
    targets: Sequence[ScrapeTarget], scrape_interval_s: float = 15.0, rule_files: Sequence[Path] = ()
) -> dict[str, Any]:
    """The Prometheus configuration: one scrape job per target job name."""
    jobs: dict[tuple[str, str], list[str]] = {}
    for target in targets:
        jobs.setdefault((target.job, target.metrics_path), []).append(target.address)
    interval = f"{int(scrape_interval_s * 1000)}ms"
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(Path(path).resolve()) for path in rule_files],
        "scrape_configs": [
            {"job_name": job, "metrics_path": path, "static_configs": [{"targets": addresses}]}
            for (job, path), addresses in jobs.items()
        ],
    }


class PrometheusServer:
    def __init__(
        self,
        data_dir: Path,
        port: int = 9090,
        host: str = "127.0.0.1",
        binary: str = "prometheus",
        retention: str = "1d",
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port
        self.host = host
        self.binary = binary
        self.retention = retention
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "prometheus.log"

    def start(
        self,
        targets: Sequence[ScrapeTarget],
        scrape_interval_s: float = 15.0,
        rule_files: Sequence[Path] = (),
        timeout_s: float = 30.0,
    ) -> None:
        """Write the configuration, start the server and wait until it reports ready."""
        assert self._process is None, "this Prometheus is already running"
        executable = shutil.which(self.binary)
        if executable is None:
            raise PrometheusError(
                f"{self.binary!r} is not installed; on Debian/Ubuntu: apt-get install prometheus"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "prometheus.yml"
        config.write_text(json.dumps(scrape_config(targets, scrape_interval_s, rule_files), indent=2))
        command = [
            executable,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.data_dir / 'tsdb'}",
            f"--storage.tsdb.retention.time={self.retention}",
            f"--web.listen-address={self.host}:{self.port}",
            "--log.level=warn",
        ]
        with self.log_file.open("ab") as out:
            self._process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        log.info("prometheus (pid %d) starting at %s, log %s", self._process.pid, self.url, self.log_file)
        self._wait_ready(timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        process = self._process
        assert process is not None

        def exited() -> PrometheusError:
            tail = self.log_file.read_text(errors="replace")[-800:]
            self._process = None
            return PrometheusError(f"prometheus exited while starting; its log ends:\n{tail}")

        def late() -> PrometheusError:
            self.stop()
            return PrometheusError(
                f"prometheus at {self.url} was not ready within {timeout_s:.0f}s; see {self.log_file}"
            )

        wait_until(
            lambda: http_ok(f"{self.url}/-/ready"),
            timeout_s=timeout_s,
            alive=lambda: process.poll() is None,
            stopped=exited,
            timed_out=late,
        )

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Stop the process this object started; False when none was running."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return False
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("prometheus (pid %d) ignored SIGTERM for %.0fs; killing it", process.pid, timeout_s)
            process.kill()
            process.wait(timeout=5)
        log.info("prometheus stopped")
        return True

    def __enter__(self) -> PrometheusServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- HTTP API ----------------------------------------------------------------------------

    def _api(self, path: str, params: dict[str, str] | None = None) -> Any:
        try:
            body = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10).json()
        except (httpx.HTTPError, ValueError) as exc:
            raise PrometheusError(f"prometheus API {path} failed: {exc}") from exc
        if body.get("status") != "success":
            raise PrometheusError(f"prometheus API {path}: {body.get('error', body)}")
        return body["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query's result series: [{"metric": {...labels}, "value": [ts, "text"]}]."""
        data = self._api("query", {"query": promql})
        return data["result"] if isinstance(data["result"], list) else [data]

    def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets with their ``health`` (up/down/unknown) and ``lastError``."""
        return self._api("targets")["activeTargets"]

    def rules(self) -> list[dict[str, Any]]:
        """Every loaded rule (alerts with their ``state``), flattened over the groups."""
        return [rule for group in self._api("rules")["groups"] for rule in group["rules"]]
