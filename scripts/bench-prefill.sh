#!/usr/bin/env bash
# Bulk prefill rate (docs/PERFORMANCE.md, "Bulk prefill"): SESSIONS bulk
# sessions of VALUE bytes into one store, through the same code path as
# `workload.prefill: { sessions, value_bytes }`, reported from the run's
# own `bulk` figures (written, seconds, per second, what was left).
#
# usage: scripts/bench-prefill.sh [TOPOLOGY] [STRATEGY] [SESSIONS] [VALUE]
#   default: standalone-no-persistence.yaml redis 1M 1024   (release build)
set -euo pipefail
cd "$(dirname "$0")/.."
TOPOLOGY=${1:-standalone-no-persistence.yaml}
STRATEGY=${2:-redis}
SESSIONS=${3:-1M}
VALUE=${4:-1024}
BIN=./target/release/sessiondrill
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 2; }
DIR=$(mktemp -d /tmp/sessiondrill-bench-prefill.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
cat > "$DIR/scenario.yaml" <<YAML
name: bench-prefill
topology: $PWD/topologies/$TOPOLOGY
strategies: [$STRATEGY]
workload:
  sessions: 100
  prefill: { sessions: $SESSIONS, value_bytes: $VALUE }
  duration: 1s
  rates: { read: 10/s }
  ttl: 30m
timeline: []
YAML
"$BIN" --home "$DIR/home" run "$DIR/scenario.yaml" --json "$DIR/report.json" >/dev/null
python3 - "$DIR/report.json" "$STRATEGY" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
b = r["strategies"][sys.argv[2]]["bulk"]
print(f'{r["topology"]} {sys.argv[2]}: {b["sessions"] * b["copies"]} writes of {b["value_bytes"]} B '
      f'in {b["ms"] / 1000:.1f} s ({b["per_second"]:.0f}/s); {b["kept"]} of {b["sampled"]} sampled kept')
PY
