#!/usr/bin/env bash
# Submit the streaming job to the cluster named by a settings file (client deploy mode: the driver
# runs here, next to its /metrics port; executors run on the cluster). The master, the Kafka
# bootstrap servers and every Spark setting come from that file, so the command is the same for
# Spark standalone and Kubernetes:
#   deploy/cluster/submit.sh deploy/cluster/scout-standalone.toml
#   deploy/cluster/submit.sh deploy/cluster/scout-kubernetes.toml [--until-idle 60]
# spark-submit starts the driver JVM before the job builds its session, so whatever that JVM needs
# is given here, from the same settings (streaming.infra.spark.spark_conf): the Kafka connector
# jars (--jars: on the driver's classpath and shipped to the executors; without them the job ends
# with "Failed to find data source: kafka"), the driver's memory and the rest as --conf.
# Needs: this repository set up here (`make setup`: the venv and the Kafka connector jars) and
# spark-submit of the same Spark version as pyspark (SPARK_HOME, default the one in pyspark).
set -euo pipefail
CONFIG=$(realpath "${1:?usage: submit.sh SETTINGS.toml [scout stream options]}")
shift
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
case "$PY" in /*) ;; *) PY="$PWD/$PY" ;; esac
SPARK_HOME=${SPARK_HOME:-$("$PY" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')}
# spark-submit's options, one a line: --master, --name, --driver-memory, --jars, then --conf K=V
# for the rest of the session's conf (this interpreter as the driver's Python unless set).
OPTIONS=$("$PY" - "$CONFIG" <<'PY'
import sys

from streaming.config import load_settings
from streaming.infra.spark import spark_conf

conf = spark_conf(load_settings(sys.argv[1]))
# The driver runs here, on this interpreter; spark.pyspark.python is the executors' one.
conf.setdefault("spark.pyspark.driver.python", sys.executable)
named = {"spark.master": "--master", "spark.app.name": "--name",
         "spark.driver.memory": "--driver-memory", "spark.jars": "--jars"}
for key, option in named.items():
    value = conf.pop(key)
    if value:  # no --jars when pyspark ships every connector jar already
        print(option, value, sep="\n")
for key, value in conf.items():
    assert "\n" not in f"{key}{value}", f"{key}: a value on several lines cannot be passed on"
    print("--conf", f"{key}={value}", sep="\n")
PY
)
mapfile -t SUBMIT <<< "$OPTIONS"
export PYSPARK_PYTHON=${PYSPARK_PYTHON:-$PY}
exec "$SPARK_HOME/bin/spark-submit" "${SUBMIT[@]}" --deploy-mode client \
  streaming/job/main.py --config "$CONFIG" stream "$@"
