"""Settings for one benchmark run of the job: topics and a checkpoint of its own, no metrics port.

    bench = run_settings(settings, "bench-pipeline", checkpoint, model_dir=model_dir)

The topics get a fresh prefix and are created, so a run never reads another run's records.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any


def run_settings(settings: Any, prefix: str, checkpoint: Path, **job: Any) -> Any:
    """``settings`` with topics ``PREFIX-<random>.<name>``, ``checkpoint`` and the ``job`` updates."""
    from streaming.infra.kafka_admin import ensure_topics, topic_specs

    unique = f"{prefix}-{uuid.uuid4().hex[:8]}"
    names = settings.kafka.topics.model_dump()
    topics = settings.kafka.topics.model_copy(
        update={name: f"{unique}.{value}" for name, value in names.items()}
    )
    out = settings.model_copy(update={
        "kafka": settings.kafka.model_copy(update={"topics": topics}),
        "spark": settings.spark.model_copy(update={"checkpoint_dir": checkpoint}),
        "job": settings.job.model_copy(update={**job, "metrics_port": 0}),
    })  # fmt: skip
    ensure_topics(out.kafka.bootstrap_servers, topic_specs(out.kafka), out.kafka.client_properties)
    return out
