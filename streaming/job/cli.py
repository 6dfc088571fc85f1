"""`scout stream`: run the streaming job in this process (also the spark-submit entry, see main.py)."""

from __future__ import annotations

import logging
import signal

import typer

log = logging.getLogger(__name__)


def stream(
    ctx: typer.Context,
    until_idle: float | None = typer.Option(
        None,
        "--until-idle",
        min=0.0,
        help="Stop once every post in the topic is processed and none came for this many seconds.",
    ),
) -> None:
    """Run the streaming job: posts -> parse -> embed -> per-influencer state -> profiles,
    reclassifications and similar influencers (and posts.dlq), checkpointed for restarts.

    Example (a broker from `scout kafka start`, a model from `scout train`):

        scout --set job.model_dir=build/model --set spark.checkpoint_dir=build/checkpoints/stream stream

    On a Spark standalone cluster only the configuration changes:

        scout --set spark.master=spark://127.0.0.1:7077 stream
    """
    from streaming.cli import settings_of
    from streaming.job.runner import StreamJob

    job = StreamJob(settings_of(ctx))

    def graceful(signum: int, _frame: object) -> None:
        # Only a flag: stopping from inside the handler would re-enter py4j's socket, which the
        # main thread is reading in awaitTermination (it failed the job with a RuntimeError).
        log.info("signal %d: stopping the query", signum)
        job.request_stop()

    signal.signal(signal.SIGTERM, graceful)
    job.start()
    job.run(until_idle_s=until_idle)
    typer.echo(f"stream stopped; checkpoint {job.checkpoint_dir}")
