"""`scout serve` in its own process, from a TOML config written for the test, on a loopback port.

with ScoutServe(config_file, port, log_file, token=TOKEN) as served:
    served.get_json("/api/influencers")
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]


def toml_config(
    settings: Any, port: int, service: dict[str, Any] | None = None, job: dict[str, Any] | None = None
) -> str:
    """A config file for the broker and topics of ``settings``, serving on ``port`` without a model;
    ``service`` and ``job`` add keys of those sections."""
    topics = settings.kafka.topics
    service = {"port": port, "load_model": False, **(service or {})}
    return "\n".join(
        [
            "[kafka]",
            f"bootstrap_servers = {json.dumps(settings.kafka.bootstrap_servers)}",
            "[kafka.topics]",
            *(f"{key} = {json.dumps(value)}" for key, value in topics.model_dump().items()),
            "[service]",
            *(f"{key} = {json.dumps(value)}" for key, value in service.items()),
            "[job]",
            *(f"{key} = {json.dumps(value)}" for key, value in (job or {}).items()),
            "",
        ]
    )


class ScoutServe:
    def __init__(self, config: Path, port: int, log: Path, token: str | None = None) -> None:
        self.config = config
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        self.token = token
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 120.0) -> None:
        """Start it and return once /health/ready answers 200 (the profiles topic has been read)."""
        with self.log.open("ab") as log_file:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "streaming.cli", "--config", str(self.config), "serve"],
                cwd=ROOT,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while True:
            assert self._process.poll() is None, self.log.read_text()[-2000:]
            assert time.monotonic() < deadline, f"scout serve was not ready within {timeout_s:.0f}s"
            try:
                if urllib.request.urlopen(f"{self.url}/health/ready", timeout=2).status == 200:
                    return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)

    def stop(self) -> int:
        """SIGTERM, as an orchestrator stops it; its exit status."""
        assert self._process is not None, "not started"
        self._process.terminate()
        try:
            return self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            return self._process.wait()
        finally:
            self._process = None

    def get(self, path: str) -> bytes:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        request = urllib.request.Request(f"{self.url}{path}", headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()

    def get_json(self, path: str) -> Any:
        return json.loads(self.get(path))

    def status_of(self, path: str) -> int:
        try:
            self.get(path)
            return 200
        except urllib.error.HTTPError as exc:
            return exc.code

    def __enter__(self) -> ScoutServe:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self.stop()
