"""`scout bench …`: one sub-command per benchmark, each defined in its own module.

    scout bench state --json
    scout bench similar --sizes 10000,100000 --json
    scout bench lookup --influencers 10000 --requests 3000 --json
    scout bench embed --posts-dir data/world --json
    scout --set job.model_dir=build/model bench stream --world build/world --posts 1000 --json
    scout bench pipeline --influencers 100000 --json
    scout bench replay --world build/bench/world-300k --json
    scout bench scale --world build/bench/world-300k --work build/bench/scale --text-encoder DIR --json

The benchmark modules import their heavy libraries inside their functions, so registering them
here keeps `scout --help` fast.
"""

from __future__ import annotations

import typer

from streaming.bench import lookup, pipeline, replay, scale, similar, state, stream

app = typer.Typer(help="Measured claims: each prints a table and, with --json, one JSON object last.")
app.command("state")(state.command)
app.command("similar")(similar.command)
app.command("lookup")(lookup.command)
app.command("stream")(stream.command)
app.command("pipeline")(pipeline.command)
app.command("replay")(replay.command)
app.command("scale")(scale.command)


@app.command(
    "embed",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
def embed(ctx: typer.Context) -> None:
    """Posts/s of the embed stage from JPEG bytes, GPU vs CPU (options: scout bench embed --help).

    scout bench embed --posts-dir data/world --json
    """
    from streaming.bench.embed import main  # imports torch: only when this command runs

    main(ctx.args)
