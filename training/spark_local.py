"""A SparkSession for the training side's batch jobs (feature extraction, Spark ML baselines).

No Kafka connector is needed here. Binds to loopback for a local master; Python workers run this
interpreter. ``master`` accepts any Spark master URL, so the same jobs run on a cluster.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


def local_spark(
    master: str = "local[2]", app_name: str = "influencer-scout-training", conf: dict[str, str] | None = None
) -> SparkSession:
    """Get or create the session (settings take full effect only when none runs yet)."""
    from pyspark.sql import SparkSession

    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName(app_name)
    settings = {
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
        **(conf or {}),
    }
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    log.info("spark %s session on %s", session.version, master)
    return session
