"""The SparkSession of the job: Spark's Kafka connector from local jars, loopback only.

The connector jars (spark-sql-kafka, its token provider, kafka-clients, commons-pool2) are resolved
once by Maven (deploy/spark/pom.xml) and listed in ``spark.classpath_file``; the session gets them
as ``spark.jars``, so starting it needs no network.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from pyspark.sql import SparkSession

from streaming.config import KafkaSettings, ScoutSettings
from streaming.errors import JarsMissingError

log = logging.getLogger(__name__)


def _pyspark_jar_names() -> set[str]:
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    return {path.name for path in jars.glob("*.jar")}


def connector_jars(classpath_file: Path) -> list[str]:
    """The jars of ``classpath_file`` that pyspark does not already ship (same file name)."""
    if not classpath_file.is_file() or not classpath_file.read_text().strip():
        raise JarsMissingError(
            f"Spark's Kafka connector classpath {classpath_file} is missing; run `make setup` "
            "(resolves the jars with Maven) from the project root, or set spark.classpath_file"
        )
    jars = [Path(entry) for entry in classpath_file.read_text().strip().split(os.pathsep) if entry]
    missing = [str(jar) for jar in jars if not jar.is_file()]
    if missing:
        raise JarsMissingError(
            f"{len(missing)} connector jars are gone (first: {missing[0]}); run `make setup`"
        )
    shipped = _pyspark_jar_names()
    kept = [str(jar.resolve()) for jar in jars if jar.name not in shipped]
    skipped = sorted(jar.name for jar in jars if jar.name in shipped)
    if skipped:
        log.debug("jars already in pyspark, not added: %s", skipped)
    return kept


def spark_conf(settings: ScoutSettings) -> dict[str, str]:
    """Every configuration entry the session is built with (``spark.extra_conf`` applied last)."""
    spark = settings.spark
    conf = {
        "spark.master": spark.master,
        "spark.app.name": spark.app_name,
        "spark.jars": ",".join(connector_jars(spark.classpath_file)),
        "spark.driver.memory": spark.driver_memory,
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(spark.shuffle_partitions),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
    }
    conf.update(spark.extra_conf)
    return conf


def build_spark_session(settings: ScoutSettings) -> SparkSession:
    """Get or create the session; settings only take full effect when no session runs yet."""
    if settings.spark.master.startswith("local"):
        # Spark's own address lookup would pick the first non-loopback interface.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Python workers run this interpreter (and its packages), not whatever `python3` is on PATH;
        # pyspark reads only the environment for that.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder
    for key, value in spark_conf(settings).items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    log.info("spark %s session on %s", session.version, settings.spark.master)
    return session


def starting_offsets(topic: str, offsets: Mapping[int, int]) -> str:
    """Partition -> offset as the Kafka source's ``startingOffsets`` JSON: read from those offsets on."""
    return json.dumps({topic: {str(partition): offset for partition, offset in offsets.items()}})


def kafka_options(kafka: KafkaSettings) -> dict[str, str]:
    """Options of Spark's Kafka source and sink: the bootstrap servers and, prefixed with
    ``kafka.``, every ``kafka.client_properties`` entry unchanged (SASL/SSL settings)."""
    options = {"kafka.bootstrap.servers": kafka.bootstrap_servers}
    options.update({f"kafka.{key}": value for key, value in kafka.client_properties.items()})
    return options
