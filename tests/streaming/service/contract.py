"""Run the schemathesis CLI against a served OpenAPI document, bounded, and return what it found.

result = run_schemathesis(url, "--header", "Authorization: Bearer ...")
assert result.passed, result.report
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Bounds that keep one run well under a minute on two cores, and make it reproducible.
MAX_EXAMPLES = 15
SEED = 20240501
REQUEST_TIMEOUT_S = 20


@dataclass(frozen=True)
class SchemathesisResult:
    returncode: int
    report: str

    @property
    def failures(self) -> int:
        """Unique failures in the summary line (``N failures`` / ``1 failure``), 0 when none."""
        match = re.search(r"(\d+) failures?\b", self.report.splitlines()[-1] if self.report else "")
        return int(match.group(1)) if match else 0

    @property
    def passed(self) -> bool:
        return self.returncode == 0 and self.failures == 0


def run_schemathesis(url: str, *options: str, cwd: Path, timeout_s: float = 240) -> SchemathesisResult:
    """``schemathesis run URL/openapi.json --checks all`` with every phase, seeded and bounded."""
    command = [
        sys.executable,
        "-c",
        "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())",
        "run",
        f"{url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--request-timeout",
        str(REQUEST_TIMEOUT_S),
        "--generation-database",
        "none",
        "--workers",
        "1",
        "--no-color",
        *options,
    ]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout_s)
    return SchemathesisResult(done.returncode, (done.stdout + done.stderr).strip())
