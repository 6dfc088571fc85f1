"""The same job on a Spark standalone cluster (a master and two workers on loopback,
tests.spark_cluster), selected by configuration only: spark.master = spark://... in the settings
file, submitted the documented way (deploy/cluster/submit.sh). `scout stream` builds its session
from the same settings (streaming.infra.spark.spark_conf) whichever JVM runs the driver."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.spark_cluster import EXECUTOR_CONF
from tests.streaming.job import helpers

pytestmark = pytest.mark.integration


def _cluster_settings(cluster, app_name: str, broker, tmp_path, model, world):
    """Settings (and their TOML file) for the job on ``cluster``: one executor core on each worker."""
    settings = helpers.topic_settings(
        broker,
        tmp_path / "checkpoint",
        model,
        world,
        **{
            "spark.master": cluster.master_url,
            "spark.app_name": app_name,
            "spark.extra_conf": EXECUTOR_CONF,
        },
    )
    return settings, helpers.write_toml(settings, tmp_path / "scout.toml")


def _assert_like_uninterrupted(cluster, app_name: str, settings, streamed_run, world) -> None:
    """The app ran on both workers; every post is counted once, with the in-process run's profiles."""
    ours = cluster.completed_app(app_name)
    assert ours["cores"] == 2, ours  # one executor core on each worker
    final = helpers.latest_by_influencer(helpers.read_json(settings, settings.kafka.topics.profiles))
    reference = streamed_run.profiles
    assert set(final) == set(reference)
    assert {name: p["post_count"] for name, p in final.items()} == {
        name: len(posts) for name, posts in world.posts.items()
    }
    for influencer, profile in final.items():
        assert profile["post_count"] == reference[influencer]["post_count"]
        assert profile["category"] == reference[influencer]["category"]
        np.testing.assert_allclose(
            profile["embedding"], reference[influencer]["embedding"], rtol=0, atol=1e-6
        )


def test_submit_sh_runs_the_job_on_a_standalone_cluster(
    standalone_cluster, kafka_broker, tiny_world, random_model, streamed_run, tmp_path
) -> None:
    """The documented submission: deploy/cluster/submit.sh through pyspark's own bin/spark-submit
    (client mode), so the driver JVM is spark-submit's, not one that pyspark launches."""
    import sys

    root = Path(__file__).resolve().parents[3]
    settings, config = _cluster_settings(
        standalone_cluster, "influencer-scout-submit-test", kafka_broker, tmp_path, random_model, tiny_world
    )
    helpers.produce(settings, tiny_world.events)
    env = {**os.environ, "PY": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
    env.pop("SPARK_HOME", None)  # the default: pyspark's own Spark
    with (tmp_path / "submit.log").open("ab") as out:
        job = subprocess.Popen(
            [str(root / "deploy" / "cluster" / "submit.sh"), str(config), "--until-idle", "5"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        assert job.wait(timeout=600) == 0, helpers.tail(tmp_path / "submit.log")
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)

    _assert_like_uninterrupted(
        standalone_cluster, "influencer-scout-submit-test", settings, streamed_run, tiny_world
    )
