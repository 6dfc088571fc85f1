"""A real single-node Apache Kafka broker (KRaft, broker + controller in one JVM) for development and tests.

The broker jars come from Maven (deploy/kafka/pom.xml, classpath written by deploy/bootstrap.sh).
Layout of ``broker.data_dir``::

    server.properties   rendered from deploy/kafka/server.properties
    data/               the KRaft metadata and topic logs (formatted once)
    broker.pid          pid of the detached JVM; `stop` signals exactly this process
    broker.log          the broker's log (log4j2), broker.out its raw stdout/stderr
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from base64 import urlsafe_b64encode
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from kafka.errors import KafkaError

from streaming.config import BrokerSettings, KafkaSettings, ScoutSettings
from streaming.errors import BrokerError
from streaming.infra import kafka_admin
from streaming.infra.wait import wait_until

log = logging.getLogger(__name__)

MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    answering: bool
    pid: int | None
    bootstrap_servers: str
    controller_port: int
    data_dir: Path
    log_file: Path
    topics: list[str] = field(default_factory=list)


def _cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (22 characters)."""
    return urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _tail(path: Path, lines: int = 15) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            return True
        except OSError:
            return False


class KafkaBroker:
    """Start, inspect and stop the broker described by ``broker``; topics come from ``kafka``."""

    def __init__(self, broker: BrokerSettings, kafka: KafkaSettings) -> None:
        self.settings = broker
        self.kafka = kafka
        self.data_dir = broker.data_dir.resolve()
        self.log_dir = self.data_dir / "data"
        self.properties_file = self.data_dir / "server.properties"
        self.pid_file = self.data_dir / "broker.pid"
        self.log_file = self.data_dir / "broker.log"
        self.out_file = self.data_dir / "broker.out"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> BrokerStatus:
        """Format storage once, start the JVM detached, wait until it answers, create the topics."""
        started = time.monotonic()
        pid = self._running_pid()
        if pid is not None:
            log.info("broker already running (pid %d); waiting until it answers", pid)
            self._wait_until_answers()
        else:
            java, classpath = self._java(), self._classpath()
            self._check_ports()
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._render_properties()
            if not (self.log_dir / "meta.properties").exists():
                self._format(java, classpath)
            self._launch(java, classpath)
            self._wait_until_answers()
            log.info(
                "broker up at %s in %.1fs (log: %s)",
                self.bootstrap_servers,
                time.monotonic() - started,
                self.log_file,
            )
        self.create_topics()
        return self.status()

    def stop(self) -> bool:
        """SIGTERM the broker's own pid, wait, then SIGKILL; False when it was not running."""
        pid = self._running_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        log.info("stopping broker pid %d", pid)
        os.kill(pid, signal.SIGTERM)
        if not self._wait_exit(pid, self.settings.stop_timeout_s):
            log.warning(
                "broker pid %d ignored SIGTERM for %.0fs; killing it", pid, self.settings.stop_timeout_s
            )
            os.kill(pid, signal.SIGKILL)
            if not self._wait_exit(pid, 10.0):
                raise BrokerError(f"broker pid {pid} survived SIGKILL; check the process table")
        self.pid_file.unlink(missing_ok=True)
        self._process = None
        return True

    def status(self) -> BrokerStatus:
        pid = self._running_pid()
        topics: list[str] = []
        answering = False
        host, port = self.settings.host, self.settings.port
        if kafka_admin.port_open(host, port):
            try:
                with kafka_admin.admin_client(self.bootstrap_servers, self.kafka.client_properties) as admin:
                    topics = sorted(t for t in admin.list_topics() if not t.startswith("__"))
                    answering = True
            except (BrokerError, KafkaError, OSError) as exc:  # status reports; a sick broker is a state
                log.debug("broker at %s does not answer: %s", self.bootstrap_servers, exc)
        return BrokerStatus(
            running=pid is not None,
            answering=answering,
            pid=pid,
            bootstrap_servers=self.bootstrap_servers,
            controller_port=self.settings.controller_port,
            data_dir=self.data_dir,
            log_file=self.log_file,
            topics=topics,
        )

    def create_topics(self) -> list[str]:
        return kafka_admin.ensure_topics(
            self.bootstrap_servers, kafka_admin.topic_specs(self.kafka), self.kafka.client_properties
        )

    # --- steps -------------------------------------------------------------------------------

    def _java(self) -> str:
        java = shutil.which(self.settings.java)
        if java is None:
            raise BrokerError(f"Java not found ({self.settings.java!r}); install Java 17+ or set broker.java")
        return java

    def _classpath(self) -> str:
        path = self.settings.classpath_file
        if not path.is_file() or not path.read_text().strip():
            raise BrokerError(
                f"broker classpath {path} is missing; run `make setup` (resolves the Kafka jars with "
                "Maven) from the project root, or set broker.classpath_file"
            )
        classpath = path.read_text().strip()
        missing = [jar for jar in classpath.split(os.pathsep) if not Path(jar).exists()]
        if missing:
            raise BrokerError(f"{len(missing)} broker jars are gone (first: {missing[0]}); run `make setup`")
        return classpath

    def _check_ports(self) -> None:
        host = self.settings.host
        for name, port in (
            ("broker.port", self.settings.port),
            ("broker.controller_port", self.settings.controller_port),
        ):
            if not _port_free(host, port):
                raise BrokerError(
                    f"{host}:{port} ({name}) is already in use, maybe by another broker; "
                    f"see `scout kafka status` or choose another port with --set {name}=..."
                )

    def _render_properties(self) -> None:
        template_file = self.settings.config_dir / "server.properties"
        if not template_file.is_file():
            raise BrokerError(
                f"broker template {template_file} not found; "
                "run from the project root or set broker.config_dir"
            )
        try:
            text = Template(template_file.read_text()).substitute(
                host=self.settings.host,
                port=self.settings.port,
                controller_port=self.settings.controller_port,
                log_dirs=self.log_dir,
            )
        except (KeyError, ValueError) as exc:
            raise BrokerError(f"broker template {template_file} has a bad placeholder: {exc}") from exc
        self.properties_file.write_text(text)

    def _jvm_options(self) -> list[str]:
        return [
            f"-Xms{self.settings.heap}",
            f"-Xmx{self.settings.heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={(self.settings.config_dir / 'log4j2.xml').resolve()}",
            f"-Dkafka.logs.dir={self.data_dir}",
        ]

    def _format(self, java: str, classpath: str) -> None:
        cluster_id = _cluster_id()
        log.info("formatting KRaft storage in %s (cluster id %s)", self.log_dir, cluster_id)
        # "--cluster-id=ID", not "-t ID": a random id may begin with "-", which the tool's argument
        # parser would take for an option.
        command = [
            java,
            *self._jvm_options(),
            "-cp",
            classpath,
            STORAGE_TOOL,
            "format",
            f"--cluster-id={cluster_id}",
            "-c",
            str(self.properties_file),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise BrokerError(
                f"formatting Kafka storage in {self.log_dir} failed (exit {result.returncode}):\n"
                f"{result.stdout}{result.stderr}"
            )

    def _launch(self, java: str, classpath: str) -> None:
        command = [java, *self._jvm_options(), "-cp", classpath, MAIN_CLASS, str(self.properties_file)]
        with self.out_file.open("ab") as out:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{self._process.pid}\n")
        log.info("broker JVM started, pid %d", self._process.pid)

    def _wait_until_answers(self) -> None:
        def still_starting() -> bool:
            return self._running_pid() is not None

        try:
            kafka_admin.wait_until_answers(
                self.bootstrap_servers,
                self.settings.start_timeout_s,
                self.kafka.client_properties,
                still_starting,
            )
        except BrokerError as exc:
            raise BrokerError(
                f"{exc}. Last lines of {self.log_file}:\n{_tail(self.log_file)}\n"
                f"JVM output ({self.out_file}):\n{_tail(self.out_file)}"
            ) from exc

    # --- the pid -----------------------------------------------------------------------------

    def _running_pid(self) -> int | None:
        """The pid in the pid file when that process is alive and is this broker."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if self._alive(pid) else None

    def _alive(self, pid: int) -> bool:
        if self._process is not None and self._process.pid == pid:
            return self._process.poll() is None
        proc = Path(f"/proc/{pid}")
        if proc.parent.is_dir():
            try:
                state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
                cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            except (FileNotFoundError, ProcessLookupError, IndexError):
                return False
            # A reused pid is not our broker: it must run kafka.Kafka on our properties file.
            ours = MAIN_CLASS.encode() in cmdline and str(self.properties_file).encode() in cmdline
            return ours and state != "Z"
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def _wait_exit(self, pid: int, timeout_s: float) -> bool:
        return wait_until(lambda: not self._alive(pid), timeout_s=timeout_s, timed_out=None, interval_s=0.1)


def ensure_broker(settings: ScoutSettings) -> tuple[ScoutSettings, KafkaBroker | None]:
    """Use the Kafka at kafka.bootstrap_servers when it answers (creating the project's topics),
    else start the [broker] one. Returns the settings pointing at it and the broker started here."""
    kafka = settings.kafka
    try:
        kafka_admin.wait_until_answers(kafka.bootstrap_servers, 1.0, kafka.client_properties)
    except BrokerError:
        broker = KafkaBroker(settings.broker, kafka)
        broker.start()
        kafka = kafka.model_copy(update={"bootstrap_servers": broker.bootstrap_servers})
        return settings.model_copy(update={"kafka": kafka}), broker
    log.info("using the Kafka already answering at %s", kafka.bootstrap_servers)
    kafka_admin.ensure_topics(
        kafka.bootstrap_servers, kafka_admin.topic_specs(kafka), kafka.client_properties
    )
    return settings, None
