"""Entry file for spark-submit: the `scout` command line, so the same flags work.

    spark-submit streaming/job/main.py --config scout.toml stream

The Spark master and everything else come from the settings (spark.master, spark.extra_conf), so a
cluster run differs from a local one by configuration only.
"""

from __future__ import annotations

from streaming.cli import app

if __name__ == "__main__":
    app(prog_name="scout")
