"""`scout generate` (a synthetic world) and `scout dataset check` (what a dataset copy holds).

scout generate data/world --influencers 10 --posts 20 --seed 7
scout dataset check data/world --json
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

log = logging.getLogger(__name__)

dataset_app = typer.Typer(
    name="dataset",
    help="Inspect a copy of the Instagram influencer dataset (or a synthetic world in its layout).",
    no_args_is_help=True,
)


def _knob_value(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        if "," in text:
            return tuple(float(part) for part in text.split(","))
        return text


def generate(
    out: Annotated[Path, typer.Argument(help="Folder to write the world into (created; must be empty).")],
    influencers: Annotated[int, typer.Option("--influencers", "-n", help="How many influencers.")] = 100,
    posts: Annotated[int, typer.Option("--posts", "-p", help="Posts per influencer.")] = 100,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Same seed, same bytes.")] = 0,
    image_size: Annotated[int, typer.Option("--image-size", help="Square JPEG side in pixels.")] = 64,
    drift_share: Annotated[
        float, typer.Option("--drift-share", help="Share of influencers that drift.")
    ] = 0.10,
    defects: Annotated[
        float, typer.Option("--defects", help="Share of posts given real-copy defects.")
    ] = 0.0,
    knob: Annotated[
        list[str] | None,
        typer.Option(
            "--knob",
            help="Any other world knob as name=value, e.g. --knob modality_overlap=0.9 "
            "--knob on_topic_share=0.3,0.7 (repeatable; see training/synth/knobs.py).",
        ),
    ] = None,
    info_zip_parts: Annotated[
        int, typer.Option("--info-zip-parts", help="Ship info/ zipped in N parts.")
    ] = 0,
    workers: Annotated[
        int, typer.Option("--workers", help="Processes drawing influencers (same bytes).")
    ] = 1,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a world already in OUT.")] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    """Generate a synthetic influencer world in the public dataset's layout, plus world.json.

    Example: scout generate /tmp/world --influencers 10 --posts 20 --seed 7
    """
    from training.errors import DatasetError, KnobError
    from training.synth.knobs import WorldKnobs
    from training.synth.writer import generate_world

    values: dict[str, object] = dict(
        influencers=influencers,
        posts=posts,
        seed=seed,
        image_size=image_size,
        drift_share=drift_share,
        defects=defects,
    )
    for item in knob or []:
        name, sep, text = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--knob expects name=value, got {item!r}")
        values[name.strip()] = _knob_value(text.strip())
    try:
        knobs = WorldKnobs.from_dict(values)
        summary = generate_world(
            out, knobs, progress=progress, overwrite=overwrite, info_zip_parts=info_zip_parts, workers=workers
        )
    except (KnobError, DatasetError, TypeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    split = ", ".join(f"{part} {len(names)}" for part, names in summary.meta.split.items())
    typer.echo(
        f"wrote {summary.influencers} influencers, {summary.posts} posts, {summary.images} images "
        f"({summary.bytes_written / 1e6:.1f} MB) to {summary.out} in {summary.seconds:.1f} s; "
        f"split {split}; {len(summary.meta.drifts)} drifting"
    )


@dataset_app.command("check")
def check(
    path: Annotated[
        list[Path],
        typer.Argument(
            help="The dataset folder or zip; more paths (e.g. zipped info parts kept elsewhere) are "
            "read as one copy."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    quick: Annotated[bool, typer.Option("--quick", help="Do not parse the metadata files (fast).")] = False,
) -> None:
    """Count what a dataset copy holds: influencers per category, posts, missing metadata and images,
    duplicate mapping rows, corrected label spellings.

    Example: scout dataset check /tmp/world --json
    """
    from training.dataset.check import check_dataset, format_check
    from training.errors import DatasetError

    try:
        result = check_dataset(path[0] if len(path) == 1 else path, parse=not quick)
    except DatasetError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(result, indent=2, default=str) if as_json else format_check(result))
