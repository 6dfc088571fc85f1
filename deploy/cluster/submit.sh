#!/usr/bin/env bash
# Submit the streaming job to the cluster named by a settings file (client deploy mode: the driver
# runs here, next to its /metrics port; executors run on the cluster). The master, the Kafka
# bootstrap servers and every Spark setting come from that file, so the command is the same for
# Spark standalone and Kubernetes:
#   deploy/cluster/submit.sh deploy/cluster/scout-standalone.toml
#   deploy/cluster/submit.sh deploy/cluster/scout-kubernetes.toml [--until-idle 60]
# Needs: this repository set up here (`make setup`: the venv and the Kafka connector jars) and
# spark-submit of the same Spark version as pyspark (SPARK_HOME, default the one in pyspark).
set -euo pipefail
cd "$(dirname "$0")/../.."
CONFIG=${1:?usage: submit.sh SETTINGS.toml [scout stream options]}
shift
PY=${PY:-.venv/bin/python}
SPARK_HOME=${SPARK_HOME:-$("$PY" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')}
MASTER=$("$PY" -c 'import sys; from streaming.config import load_settings; print(load_settings(sys.argv[1]).spark.master)' "$CONFIG")
export PYSPARK_PYTHON=${PYSPARK_PYTHON:-$PWD/$PY}
exec "$SPARK_HOME/bin/spark-submit" --master "$MASTER" --deploy-mode client \
  streaming/job/main.py --config "$CONFIG" stream "$@"
