#!/usr/bin/env bash
# Recovery time as the data grows (docs/scenarios.md, "Recovery time as
# the data grows"; issue 24): a Redis node with AOF, with RDB snapshots and
# with AOF + RDB preamble, and the embedded DynamoDB node, each killed
# mid-load and restarted holding SIZES bulk sessions of 1 KB (and the AOF
# node's power cut instead of a kill) — one
# `sessiondrill sweep` each over workload.prefill.sessions, with a
# straight-line prediction at PREDICT. Reports (JSON, Markdown, HTML) go
# to OUT.
#
# usage: scripts/bench-recovery.sh OUT [SIZES] [DYNAMO_SIZES] [PREDICT]
#   default SIZES 250k,500k,1M,2M; DYNAMO_SIZES the same; PREDICT 10M,50M
#   (release build; the largest Redis run holds ~2.4 GB in memory and
#   ~2.2 GB of AOF, the largest DynamoDB prefill takes ~7 minutes here)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/bench-recovery.sh OUT [SIZES] [DYNAMO_SIZES] [PREDICT]}
SIZES=${2:-250k,500k,1M,2M}
DYNAMO_SIZES=${3:-$SIZES}
PREDICT=${4:-10M,50M}
BIN=./target/release/sessiondrill
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 2; }
mkdir -p "$OUT"
DIR=$(mktemp -d /tmp/sessiondrill-bench-recovery.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
METRICS=loading_s,recovery_s,read_recovery_s,lost_writes,bulk_s

# The shipped drill with another topology, the kill late enough for an
# RDB snapshot or an AOF rewrite of the bulk data to have finished.
variant() { # name topology
  sed -e "s#^topology: .*#topology: $PWD/topologies/$2#" \
      -e "s#^name: .*#name: redis-restart-$1#" \
      -e "s#^  duration: .*#  duration: 40s#" \
      -e "s#at: 3s, fault: kill#at: 20s, fault: kill#" \
      topologies/redis-restart-1gb.yaml > "$DIR/$1.yaml"
}
variant aof standalone-aof-everysec.yaml
variant aof-rdb standalone-aof-rdb.yaml
# RDB saved every second there is a change: the kill loses what came
# after the last completed snapshot (not a loss the AOF drills share).
sed -e 's#^  redis:$#  redis:#' topologies/standalone-rdb.yaml \
  | sed -e 's#save: .*#save: "1 1"#' -e 's#^name: .*#name: standalone-rdb-1s#' > "$DIR/standalone-rdb-1s.yaml"
sed -e "s#^topology: .*#topology: $DIR/standalone-rdb-1s.yaml#" \
    -e "s#^name: .*#name: redis-restart-rdb#" \
    -e "s#^  duration: .*#  duration: 40s#" \
    -e "s#at: 3s, fault: kill#at: 20s, fault: kill#" \
    -e 's#^  redis.lost: .*##' -e 's#^  redis.lost_writes: .*##' \
    topologies/redis-restart-1gb.yaml > "$DIR/rdb.yaml"
# A power loss instead of a crash (AOF everysec, data on the power-loss
# filesystem): what was not fsynced is gone, then the same loading.
sed -e "s#^name: .*#name: redis-power-loss-aof#" \
    -e "s#fault: kill#fault: power-loss#" \
    -e 's#^  redis.lost_writes: .*##' \
    "$DIR/aof.yaml" > "$DIR/aof-power-loss.yaml"
sed -e "s#^topology: .*#topology: $PWD/topologies/dynamodb.yaml#" \
    -e "s#^  duration: .*#  duration: 12s#" \
    topologies/dynamodb-restart-100k.yaml > "$DIR/dynamodb.yaml"

for v in aof aof-rdb rdb aof-power-loss; do
  "$BIN" --home "$DIR/home" sweep "$DIR/$v.yaml" \
    --vary "workload.prefill.sessions=$SIZES" --metrics "$METRICS" \
    --predict "sessions=$PREDICT" --json "$OUT/$v.json" --md "$OUT/$v.md" --html "$OUT/$v.html" \
    > "$OUT/$v.txt" || true
done
"$BIN" --home "$DIR/home" sweep "$DIR/dynamodb.yaml" \
  --vary "workload.prefill.sessions=$DYNAMO_SIZES" --metrics "$METRICS" \
  --predict "sessions=$PREDICT" --json "$OUT/dynamodb.json" --md "$OUT/dynamodb.md" --html "$OUT/dynamodb.html" \
  > "$OUT/dynamodb.txt" || true
echo "written: $OUT/{aof,aof-rdb,rdb,aof-power-loss,dynamodb}.{json,md,html,txt}"
