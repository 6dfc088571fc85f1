"""`scout bench …`: one sub-command per benchmark, each defined in its own module.

    scout bench state --json
    scout bench similar --sizes 10000,100000 --json
    scout bench lookup --influencers 10000 --requests 3000 --json

The benchmark modules import their heavy libraries inside their functions, so registering them
here keeps `scout --help` fast.
"""

from __future__ import annotations

import typer

from streaming.bench import lookup, similar, state

app = typer.Typer(help="Measured claims: each prints a table and, with --json, one JSON object last.")
app.command("state")(state.command)
app.command("similar")(similar.command)
app.command("lookup")(lookup.command)
