"""The scale-out recipe in deploy/cluster: settings files for Spark standalone and Kubernetes, three
Kafka broker overlays, and the scripts. Parsed and validated; the broker configurations are also
checked by Kafka's own storage tool, and submit.sh is run against a stand-in spark-submit."""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path
from string import Template
from typing import Any

import pytest

from streaming.config import ScoutSettings, load_settings
from streaming.infra.spark import spark_conf

ROOT = Path(__file__).resolve().parents[3]
CLUSTER = ROOT / "deploy" / "cluster"
TEMPLATE = ROOT / "deploy" / "kafka" / "server.properties"
SETTINGS_FILES = sorted(CLUSTER.glob("scout-*.toml"))
BROKER_FILES = sorted((CLUSTER / "kafka").glob("broker-*.properties"))
NODE_KEYS = {"node.id", "listeners", "advertised.listeners"}  # what may differ between the brokers


def properties(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path.name}: not key=value: {line!r}"
            assert key.strip() not in pairs, f"{path.name}: {key} set twice"
            pairs[key.strip()] = value.strip()
    return pairs


def leaves(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and not key.endswith("extra_conf"):
            out.update(leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def default_of(dotted: str) -> Any:
    node: Any = ScoutSettings()
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


def brokers() -> list[dict[str, str]]:
    return [properties(path) for path in BROKER_FILES]


def test_recipe_files_exist() -> None:
    assert [p.name for p in SETTINGS_FILES] == ["scout-kubernetes.toml", "scout-standalone.toml"]
    assert [p.name for p in BROKER_FILES] == [f"broker-{i}.properties" for i in (1, 2, 3)]


@pytest.mark.parametrize("path", SETTINGS_FILES, ids=lambda p: p.stem)
def test_settings_load_and_hold_only_what_changes(path: Path) -> None:
    classpath = {"spark.classpath_file": str(ROOT / "build" / "spark.classpath")}
    settings = load_settings(path, classpath, environ={})
    for key, value in leaves(tomllib.loads(path.read_text())).items():
        default = default_of(key)
        assert value != default and value != str(default), f"{path.name}: {key} is the default"
    assert not settings.spark.master.startswith("local")
    advertised = {b["advertised.listeners"].removeprefix("PLAINTEXT://") for b in brokers()}
    assert set(settings.kafka.bootstrap_servers.split(",")) == advertised
    assert settings.spark.shuffle_partitions >= settings.kafka.posts_partitions
    shared = [settings.job.model_dir, *settings.job.image_roots]  # what the executors read
    assert all(p.is_absolute() and p.parts[:3] == ("/", "mnt", "scout") for p in shared), shared
    # The state store (SQLite) stays on the driver's own disk, off the shared filesystem.
    checkpoint = settings.spark.checkpoint_dir
    assert checkpoint.is_absolute() and checkpoint.parts[:3] != ("/", "mnt", "scout"), checkpoint
    if not (ROOT / "build" / "spark.classpath").is_file():
        pytest.skip("connector jars not resolved here (make setup)")
    conf = spark_conf(settings)
    # Executors on other machines must reach the driver: no loopback left after extra_conf.
    assert conf["spark.driver.host"] not in ("127.0.0.1", "localhost")
    assert conf["spark.driver.bindAddress"] == "0.0.0.0"
    assert conf["spark.pyspark.python"].startswith("/opt/influencer-scout/")


def test_three_brokers_form_one_quorum_with_three_replicas() -> None:
    template = properties(TEMPLATE)
    configs = brokers()
    assert sorted(int(c["node.id"]) for c in configs) == [1, 2, 3]
    voters = {c["controller.quorum.voters"] for c in configs}
    assert len(voters) == 1, "every broker must list the same controller quorum"
    voter_map = dict(v.split("@") for v in voters.pop().split(","))
    for config in configs:
        assert set(config) <= set(template), f"keys the template lacks: {set(config) - set(template)}"
        listeners = dict(item.split("://") for item in config["listeners"].split(","))
        assert voter_map[config["node.id"]] == listeners["CONTROLLER"]
        assert config["advertised.listeners"] == f"PLAINTEXT://{listeners['PLAINTEXT']}"
        for key in (
            "default.replication.factor",
            "offsets.topic.replication.factor",
            "transaction.state.log.replication.factor",
        ):
            assert int(config[key]) == 3, key
        # Writes survive one broker down: fewer in-sync replicas needed than exist.
        assert 1 < int(config["min.insync.replicas"]) < int(config["default.replication.factor"])
        transactions = int(config["transaction.state.log.replication.factor"])
        assert int(config["transaction.state.log.min.isr"]) < transactions
    shared = [{k: v for k, v in c.items() if k not in NODE_KEYS} for c in configs]
    assert shared[0] == shared[1] == shared[2], "brokers may differ only in node.id and listeners"


def test_scripts_parse() -> None:
    for script in (CLUSTER / "submit.sh", CLUSTER / "kafka" / "create-topics.sh"):
        assert os.access(script, os.X_OK), f"{script.name} is not executable"
        result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_submit_gives_spark_submit_the_driver_settings(tmp_path: Path) -> None:
    """spark-submit starts the driver JVM before the session exists, so submit.sh hands it what
    that JVM needs from the same settings: the master, the connector jars (--jars), the driver's
    memory, and the rest of the session's conf; the driver's Python is the project's."""
    if not (ROOT / "build" / "spark.classpath").is_file():
        pytest.skip("connector jars not resolved here (make setup)")
    fake_home = tmp_path / "spark"
    (fake_home / "bin").mkdir(parents=True)
    record = tmp_path / "args.txt"
    fake = fake_home / "bin" / "spark-submit"
    fake.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$@" > {record}\n')
    fake.chmod(0o755)
    config = CLUSTER / "scout-standalone.toml"
    python = str(ROOT / ".venv" / "bin" / "python")
    env = {**os.environ, "SPARK_HOME": str(fake_home), "PY": python}
    result = subprocess.run(
        [str(CLUSTER / "submit.sh"), str(config), "--until-idle", "30"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    args = record.read_text().splitlines()
    classpath = {"spark.classpath_file": str(ROOT / "build" / "spark.classpath")}
    conf = spark_conf(load_settings(config, classpath))
    assert args[:8] == [
        "--master",
        "spark://spark-master.scout.internal:7077",
        "--name",
        conf["spark.app.name"],
        "--driver-memory",
        "8g",
        "--jars",
        conf["spark.jars"],
    ]
    jars = args[7].split(",")
    assert jars and all(Path(jar).is_file() for jar in jars), jars
    assert any("spark-sql-kafka" in Path(jar).name for jar in jars), jars
    passed = dict(
        value.split("=", 1)
        for flag, value in zip(args[8:-8:2], args[9:-8:2], strict=True)
        if flag == "--conf"
    )
    assert len(passed) == len(args[8:-8]) // 2, args  # nothing but --conf between
    named = {"spark.master", "spark.app.name", "spark.driver.memory", "spark.jars"}
    assert passed == {
        **{k: v for k, v in conf.items() if k not in named},
        "spark.pyspark.driver.python": python,
    }
    assert args[-8:] == [
        "--deploy-mode",
        "client",
        "streaming/job/main.py",
        "--config",
        str(config),
        "stream",
        "--until-idle",
        "30",
    ]


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("java") is None, reason="needs Java")
def test_kafka_storage_tool_accepts_each_broker(tmp_path: Path) -> None:
    classpath = ROOT / "build" / "kafka.classpath"
    if not classpath.is_file():
        pytest.skip("broker jars not resolved here (make setup)")
    template = Template(TEMPLATE.read_text())
    cluster_id = subprocess.run(
        ["java", "-cp", classpath.read_text().strip(), "kafka.tools.StorageTool", "random-uuid"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.strip()
    assert len(cluster_id) == 22, cluster_id
    for path, overlay in zip(BROKER_FILES, brokers(), strict=True):
        data_dir = tmp_path / path.stem
        base = properties_text(
            template.substitute(host="127.0.0.1", port=9092, controller_port=9093, log_dirs=data_dir)
        )
        merged = {**base, **overlay, "log.dirs": str(data_dir), "metadata.log.dir": str(data_dir)}
        config = tmp_path / f"{path.stem}.merged.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in merged.items()))
        result = subprocess.run(
            [
                "java",
                "-cp",
                classpath.read_text().strip(),
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(config),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"{path.name}: {result.stdout}\n{result.stderr}"
        assert f"node.id={overlay['node.id']}" in (data_dir / "meta.properties").read_text()


def properties_text(text: str) -> dict[str, str]:
    path_free = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return dict(line.split("=", 1) for line in path_free)
