"""`scout replay DATASET`: send a dataset copy's posts to the `posts` topic as post events.

scout generate /tmp/world --influencers 10 --posts 20 --seed 7
scout kafka start
scout replay /tmp/world --rate 200 --malformed-share 0.05
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

log = logging.getLogger(__name__)


def replay(
    ctx: typer.Context,
    dataset: Annotated[
        list[Path], typer.Argument(help="Dataset folder or zip (more paths are read as one copy).")
    ],
    rate: Annotated[
        float | None, typer.Option("--rate", help="Events per second; default as fast as possible.")
    ] = None,
    image_mode: Annotated[
        str, typer.Option("--image-mode", help="uri: file URI of the image (default); b64: inline bytes.")
    ] = "uri",
    malformed_share: Annotated[
        float, typer.Option("--malformed-share", help="Share of malformed events mixed in (drills).")
    ] = 0.0,
    seed: Annotated[int, typer.Option("--seed", help="Where the malformed events go, and how.")] = 0,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Send only the first N posts in time order.")
    ] = None,
    topic: Annotated[
        str | None, typer.Option("--topic", help="Topic to send to; default kafka.topics.posts.")
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
    followers: Annotated[
        bool,
        typer.Option("--followers/--no-followers", help="First send influencers.txt's follower counts."),
    ] = True,
) -> None:
    """Replay a dataset into Kafka as post events, keyed by influencer, in global time order; first
    the follower counts of influencers.txt to kafka.topics.followers (compacted).

    Example: scout replay /tmp/world --rate 200 --malformed-share 0.05
    """
    from streaming.cli import settings_of
    from streaming.errors import BrokerError, ReplayError
    from streaming.replay import check_reachable
    from streaming.replay import replay as run_replay
    from training.dataset.reader import open_dataset
    from training.errors import DatasetError

    settings = settings_of(ctx)
    try:
        check_reachable(settings.kafka)
        with open_dataset(dataset[0] if len(dataset) == 1 else dataset) as ds:
            if followers:
                from streaming.followers import publish_followers

                sent = publish_followers(ds, settings.kafka)
                typer.echo(f"sent {sent} follower counts to {settings.kafka.topics.followers}")
            stats = run_replay(
                ds,
                settings.kafka,
                topic=topic,
                rate=rate,
                image_mode=image_mode,  # type: ignore[arg-type]
                malformed_share=malformed_share,
                seed=seed,
                limit=limit,
                max_caption_chars=settings.job.max_caption_chars,
                progress=progress,
            )
    except (BrokerError, ReplayError, DatasetError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(stats.malformed.items())) or "none"
    skipped = f"; {stats.skipped_no_image} posts without an image skipped" if stats.skipped_no_image else ""
    typer.echo(
        f"produced {stats.produced} events to {stats.topic} in {stats.seconds:.1f} s "
        f"({stats.rate:.0f} events/s): {stats.valid} valid, "
        f"{sum(stats.malformed.values())} malformed ({kinds}){skipped}"
    )
