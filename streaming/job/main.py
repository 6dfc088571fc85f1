"""Entry file for spark-submit: the `scout` command line, so the same flags work.

    spark-submit streaming/job/main.py --config scout.toml stream

The Spark master and everything else come from the settings (spark.master, spark.extra_conf), so a
cluster run differs from a local one by configuration only (see deploy/cluster/submit.sh).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    # Run as a script, this folder would come first on sys.path and its modules (parse, query, ...)
    # would shadow top-level packages of the same name; the project is imported as a package.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    from streaming.cli import app

    app(prog_name="scout")
