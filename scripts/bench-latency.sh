#!/usr/bin/env bash
# Redis latency as a drill measures it vs `redis-benchmark -c 1` on the
# same server in the same run (docs/PERFORMANCE.md, "Latency: the drill vs
# redis-benchmark"). While SCENARIO's load runs, redis-benchmark sends SET
# and GET one at a time to the same primary; the drill's p50 (from the
# intended start, open loop) is set against redis-benchmark's p50.
#
# usage: scripts/bench-latency.sh [SCENARIO] [ROUNDS]   (release build)
set -euo pipefail
cd "$(dirname "$0")/.."
SCENARIO=${1:-topologies/redis-baseline.yaml}
ROUNDS=${2:-3}
BIN=./target/release/sessiondrill
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 2; }
command -v redis-benchmark >/dev/null || { echo "redis-benchmark missing (package redis-tools)" >&2; exit 2; }
DIR=$(mktemp -d /tmp/sessiondrill-bench-latency.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT

# port and password of the run's Redis primary (the password stays in this
# shell: never printed)
primary() {
  SESSIONDRILL_HOME=$DIR "$BIN" status --json 2>/dev/null | python3 -c '
import json, re, sys, urllib.parse
for r in json.load(sys.stdin)["runs"]:
    if not r.get("ready"):
        continue
    for n in r["nodes"]:
        m = re.match(r"redis://default:(.*)@127\.0\.0\.1:(\d+)$", n["url"])
        if m and n["role"] in ("primary", "server", "master"):
            print(m.group(2), urllib.parse.unquote(m.group(1)))
            sys.exit(0)
sys.exit(1)'
}

echo "| round | drill p50 all ops | drill p99 | generator lag p50 | drill p50 writes / reads | redis-benchmark -c 1 p50 SET / GET | drill ÷ redis-benchmark p50: writes ÷ SET / reads ÷ GET |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for round in $(seq 1 "$ROUNDS"); do
  rm -f "$DIR/r.json"
  SESSIONDRILL_HOME=$DIR "$BIN" run "$SCENARIO" --json "$DIR/r.json" >"$DIR/run.out" 2>&1 &
  pid=$!
  found=
  for _ in $(seq 1 300); do
    if found=$(primary); then break; fi
    sleep 0.1
  done
  [ -n "$found" ] || { echo "no Redis primary came up" >&2; cat "$DIR/run.out" >&2; exit 1; }
  read -r port pw <<<"$found"
  sleep 5 # into the load
  # -a: redis-benchmark reads no password from the environment; the
  # password is the run's own, random, and dies with it.
  redis-benchmark -h 127.0.0.1 -p "$port" -a "$pw" -c 1 -n 20000 -d 512 -t set,get --csv >"$DIR/rb.csv"
  wait "$pid" || true
  pid=
  python3 - "$DIR/r.json" "$DIR/rb.csv" "$round" <<'PY'
import csv, json, sys
r = json.load(open(sys.argv[1]))
rows = {row["test"]: row for row in csv.DictReader(open(sys.argv[2]))}
s = next(iter(r["strategies"].values()))
p50 = s["latency_us"]["p50"] / 1000
p99 = s["latency_us"]["p99"] / 1000
lag = s["scheduler_lag_us"]["p50"] / 1000
rb = [float(rows[t]["p50_latency_ms"]) for t in ("SET", "GET")]
# like with like: the drill's writes are a SET each (create, update), its
# reads a GET
kinds = s["ops_by_kind"]
w = kinds["update"]["latency_us"]["p50"] / 1000
g = kinds["read"]["latency_us"]["p50"] / 1000
print(f"| {sys.argv[3]} | {p50:.3f} ms | {p99:.3f} ms | {lag:.3f} ms | {w:.3f} / {g:.3f} ms | {rb[0]:.3f} / {rb[1]:.3f} ms | {w / rb[0]:.1f}× / {g / rb[1]:.1f}× |")
PY
done
