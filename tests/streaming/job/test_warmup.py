"""Python workers hold the model before the first batch and through quiet periods."""

from __future__ import annotations

import time

import pytest

from streaming.config import JobSettings

pytestmark = pytest.mark.integration


def test_warm_up_runs_the_udf_on_every_core_and_the_keep_alive_waits_for_quiet(spark, random_model) -> None:
    from streaming.job.warmup import WorkerKeepAlive, warm_workers

    job = JobSettings(model_dir=random_model, embed_batch_size=4)
    assert warm_workers(spark, job) > 0  # raises when the warm-up post is rejected
    keeper = WorkerKeepAlive(spark, job, interval_s=1.0)
    keeper.start()
    try:
        with keeper.in_use():  # a micro-batch is running: no keep-alive batch meanwhile
            time.sleep(3.0)
            assert keeper.runs == 0
        deadline = time.monotonic() + 120
        while keeper.runs == 0:  # quiet for a second: a one-row batch keeps the workers in use
            assert time.monotonic() < deadline, "no keep-alive batch ran in 120 s of quiet"
            time.sleep(0.2)
    finally:
        keeper.stop()
