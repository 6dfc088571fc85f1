#!/usr/bin/env bash
# Create the topics of DESIGN.md on the three-broker cluster with three replicas each, before the
# first job or service starts (`scout` itself creates missing topics with one replica, for the
# single-node setup). Partitions of `posts` bound the job's parallelism; profiles and similar are
# compacted by key. Usage: deploy/cluster/kafka/create-topics.sh [bootstrap] [posts partitions]
set -euo pipefail
BOOTSTRAP=${1:-kafka-1.scout.internal:9092,kafka-2.scout.internal:9092,kafka-3.scout.internal:9092}
PARTITIONS=${2:-24}
KAFKA_BIN=${KAFKA_BIN:-/opt/kafka/bin}

create() {  # name partitions [extra --config flags]
  "$KAFKA_BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$1" --partitions "$2" --replication-factor 3 "${@:3}"
}
create posts "$PARTITIONS"
create posts.dlq 3
create influencer-profiles "$PARTITIONS" --config cleanup.policy=compact
create influencer-reclassified 3
create influencer-similar "$PARTITIONS" --config cleanup.policy=compact
