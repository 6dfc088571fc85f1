"""Broker restart drill: a broker of this test's own is stopped while `scout stream` is mid-replay
and started again on the same ports and data dir. The test is the job's supervisor: it restarts
`scout stream` with the same config whenever it exits non-zero (a bounded number of times), and in
the end every post is folded exactly once, with the embeddings of a run that was never interrupted.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import RunningBroker, running_broker
from tests.streaming.job import helpers

pytestmark = pytest.mark.integration

log = logging.getLogger(__name__)

MAX_STARTS = 6  # the supervisor gives up after this many starts of `scout stream`
RESTART_DELAY_S = 3.0  # the supervisor's pause before a restart
# The broker stays down until the job exits, at most this long. Losing the broker mid-batch, the
# job exits 1 once the executors' Kafka consumer gives up on the batch: 160-200 s after the broker
# went away on two busy cores with the defaults of QUICK_TIMEOUTS' two settings.
OUTAGE_S = 300.0
# Spark's Kafka source gives up on a fetch after spark.network.timeout (kafkaConsumer.pollTimeoutMs
# defaults to it; 120 s: "Cannot fetch record for offset N in 120000 milliseconds") and on a
# partition's position after the consumer's default.api.timeout.ms (60 s: "Timeout of 60000ms
# expired before the position for partition ... could be determined"), a client property passed to
# Spark's Kafka clients (streaming.infra.spark.kafka_options). Both 30 s here.
QUICK_TIMEOUTS = {
    "spark.extra_conf": {"spark.network.timeout": "30s", "spark.network.timeoutInterval": "20s"},
    "kafka.client_properties": {"default.api.timeout.ms": "30000"},  # not below request.timeout.ms
}
RUN_TIMEOUT_S = 900.0  # the whole supervised run, every restart included


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[RunningBroker]:
    """A broker of this test only (free loopback ports, its own data dir), so stopping it harms
    no other test."""
    with running_broker(tmp_path / "kafka") as running:
        yield running


@dataclass
class Supervisor:
    """`scout --config CONFIG stream ARGS`, restarted after a non-zero exit, at most MAX_STARTS."""

    config: Path
    logs: Path
    args: tuple[str, ...]
    exits: list[tuple[int, float]] = field(default_factory=list)  # (exit code, seconds it ran)
    process: subprocess.Popen | None = None
    started_at: float = 0.0

    @property
    def log_file(self) -> Path:
        return self.logs / f"job-{len(self.exits)}.log"

    def start(self) -> None:
        assert len(self.exits) < MAX_STARTS, f"`scout stream` failed {len(self.exits)} times: {self.exits}"
        self.process = helpers.start_job(self.config, self.log_file, *self.args)
        self.started_at = time.monotonic()

    def poll(self) -> int | None:
        """The job's exit code once it exited 0 for good; restarts it after a non-zero exit."""
        assert self.process is not None
        code = self.process.poll()
        if code is None:
            return None
        self.exits.append((code, time.monotonic() - self.started_at))
        log.info("scout stream exited %d after %.0fs", code, self.exits[-1][1])
        if code == 0:
            return 0
        time.sleep(RESTART_DELAY_S)
        self.start()
        return None

    def wait_exit(self, timeout_s: float) -> int | None:
        """Wait up to ``timeout_s`` for the running job to exit; its code, not restarting it."""
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def terminate(self, timeout_s: float = 120.0) -> int:
        """SIGTERM to `scout stream` itself (its handler stops the query); its exit code."""
        assert self.process is not None and self.process.poll() is None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout_s)
        self.exits.append((code, time.monotonic() - self.started_at))
        return code

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def last_logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{helpers.tail(path)}" for path in sorted(self.logs.glob("job-*.log"))
        )


def committed_batches(checkpoint: Path) -> int:
    commits = checkpoint / "commits"
    return len([p for p in commits.iterdir() if p.name.isdigit()]) if commits.is_dir() else 0


def post_counts(settings) -> dict[str, int]:
    """Influencer -> post_count of its latest profile on the profiles topic."""
    profiles = helpers.latest_by_influencer(helpers.read_json(settings, settings.kafka.topics.profiles))
    return {name: profile["post_count"] for name, profile in profiles.items()}


def test_the_job_survives_a_broker_restart_under_a_supervisor(
    own_broker, tiny_world, random_model, streamed_run, tmp_path
) -> None:
    checkpoint = tmp_path / "checkpoint"
    settings = helpers.topic_settings(own_broker, checkpoint, random_model, tiny_world, **QUICK_TIMEOUTS)
    config = helpers.write_toml(settings, tmp_path / "scout.toml")
    (tmp_path / "logs").mkdir()
    events = tiny_world.events
    expected = {name: len(posts) for name, posts in tiny_world.posts.items()}
    first, second = len(events) // 3, 2 * len(events) // 3
    supervisor = Supervisor(config, tmp_path / "logs", ())  # as deployed: no --until-idle

    helpers.produce(settings, events[:first])
    supervisor.start()
    try:
        deadline = time.monotonic() + 300
        while committed_batches(checkpoint) == 0:
            assert supervisor.process.poll() is None, supervisor.last_logs()
            assert time.monotonic() < deadline, supervisor.last_logs()
            time.sleep(0.5)

        # Mid-replay: more posts arrive, and the broker goes away under the running job.
        helpers.produce(settings, events[first:second])
        time.sleep(1.0)
        stopped = time.monotonic()
        assert own_broker.broker.stop()
        code = supervisor.wait_exit(OUTAGE_S)
        outage = time.monotonic() - stopped
        log.info(
            "broker down %.0fs: the job %s", outage, "kept running" if code is None else f"exited {code}"
        )
        # It neither hangs nor carries on blind: it exits non-zero, for its supervisor to restart.
        assert code not in (None, 0), f"the job did not exit within {OUTAGE_S:.0f}s: {supervisor.last_logs()}"
        own_broker.broker.start()  # same ports, same data dir: the topics and their records are back
        helpers.produce(settings, events[second:])

        # The supervisor's loop: restart after a non-zero exit until every post is profiled.
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while True:
            assert supervisor.poll() is None, f"the job stopped by itself: {supervisor.last_logs()}"
            counts = post_counts(settings)
            over = {name: n for name, n in counts.items() if n > expected.get(name, 0)}
            assert not over, f"posts folded twice: {over} (expected {expected})"
            if counts == expected:
                break
            assert time.monotonic() < deadline, supervisor.last_logs()
            time.sleep(1.0)
        # A supervisor's stop: SIGTERM, and the job stops its query and exits 0.
        assert supervisor.terminate() == 0, supervisor.last_logs()
    finally:
        supervisor.kill()

    log.info("starts of scout stream: %d, exits %s", len(supervisor.exits), supervisor.exits)
    final = helpers.latest_by_influencer(helpers.read_json(settings, settings.kafka.topics.profiles))
    assert {name: p["post_count"] for name, p in final.items()} == expected
    reference = streamed_run.profiles
    for influencer, profile in final.items():
        np.testing.assert_allclose(
            profile["embedding"], reference[influencer]["embedding"], rtol=0, atol=1e-6
        )
