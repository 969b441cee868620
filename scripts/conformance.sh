#!/usr/bin/env bash
# The public DynamoDB conformance suite (github.com/nubo-db/dynamodb-conformance,
# 601 tests in three tiers, each checked against real DynamoDB by its
# authors) against Dynoxide served directly (examples/dynoxide_direct.rs,
# the baseline: which failures are Dynoxide's own), our DynamoDB node, and
# through our DAX node in front of it (docs/RELIABILITY.md). The suite is
# not part of this repository: clone it yourself and install its packages
# (`npm ci`, or `npm install` where the lock file names versions your
# registry does not have).
#
# usage: scripts/conformance.sh SUITE_DIR [VITEST FILTER...]
#   e.g. scripts/conformance.sh ../dynamodb-conformance tests/tier1
#
# Builds what it needs (release), brings the targets up on loopback, runs
# the suite against each, prints the passed / failed / skipped tests per
# tier and target, and takes everything down. vitest's JSON reports (with
# the failed tests) are kept in a directory printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
SUITE=${1:?usage: scripts/conformance.sh SUITE_DIR [VITEST FILTER...]}
shift
SUITE=$(cd "$SUITE" && pwd)
grep -q '"name": "dynamodb-conformance"' "$SUITE/package.json" 2>/dev/null ||
  { echo "$SUITE is not a checkout of dynamodb-conformance" >&2; exit 2; }
for tool in npx python3; do
  command -v "$tool" >/dev/null || { echo "$tool missing (Debian: nodejs npm python3)" >&2; exit 2; }
done
[ -d "$SUITE/node_modules/vitest" ] ||
  { echo "the suite's packages are not installed: cd $SUITE && npm ci (or npm install)" >&2; exit 2; }
cargo build --release --bins --example dynoxide_direct >/dev/null 2>&1 ||
  { echo "build failed: cargo build --release --bins --example dynoxide_direct" >&2; exit 1; }
BIN=$PWD/target/release/sessiondrill

WORK=$(mktemp -d /tmp/sessiondrill-conformance.XXXXXX)
OUT=$(mktemp -d /tmp/sessiondrill-conformance-results.XXXXXX)
pids=()
cleanup() {
  # `up` takes its nodes down on SIGINT.
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
  echo "vitest reports: $OUT" >&2
}
trap cleanup EXIT

cat >"$WORK/conformance.yaml" <<'EOF'
name: conformance
nodes:
  db: { kind: dynamodb }
  dax: { kind: dax }
EOF
# The baseline first, listening before `up` plans its ports.
direct=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
./target/release/examples/dynoxide_direct "$direct" "$WORK/direct.db" 2>"$WORK/direct.log" &
direct_pid=$!
pids+=("$direct_pid")
for _ in $(seq 1 100); do
  python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $direct), 1)" 2>/dev/null && break
  kill -0 "$direct_pid" 2>/dev/null || { cat "$WORK/direct.log" >&2; exit 1; }
  sleep 0.1
done
SESSIONDRILL_HOME=$WORK/home "$BIN" up "$WORK/conformance.yaml" --json >"$WORK/up.json" 2>"$WORK/up.log" &
up_pid=$!
pids+=("$up_pid")
for _ in $(seq 1 150); do
  [ -s "$WORK/up.json" ] && break
  kill -0 "$up_pid" 2>/dev/null || { cat "$WORK/up.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$WORK/up.json" ] || { echo "the nodes were not up within 15 s:" >&2; cat "$WORK/up.log" >&2; exit 1; }
url() {
  python3 -c "import json,sys; print(next(n['url'] for n in json.load(open(sys.argv[1]))['nodes'] if n['name'] == sys.argv[2]))" "$WORK/up.json" "$1"
}

echo "| target | tier 1 | tier 2 | tier 3 | passed | failed | skipped |"
echo "|---|---|---|---|---:|---:|---:|"
for target in dynoxide dynamodb dax; do
  case $target in
  dynoxide) endpoint=http://127.0.0.1:$direct ;;
  dynamodb) endpoint=$(url db) ;;
  dax) endpoint=$(url dax) ;;
  esac
  kill -0 "$direct_pid" 2>/dev/null && kill -0 "$up_pid" 2>/dev/null ||
    { echo "a target stopped:" >&2; cat "$WORK/direct.log" "$WORK/up.log" >&2; exit 1; }
  # Never an empty endpoint: the suite would then run against real AWS.
  case $endpoint in
  http://127.0.0.1:[0-9]*) ;;
  *) echo "no local endpoint for $target (got '$endpoint')" >&2; exit 1 ;;
  esac
  (cd "$SUITE" &&
    DYNAMODB_ENDPOINT=$endpoint AWS_REGION=us-east-1 \
      AWS_ACCESS_KEY_ID=sessiondrill AWS_SECRET_ACCESS_KEY=sessiondrill \
      npx vitest run "$@" --reporter=json --outputFile="$OUT/$target.json" >"$OUT/$target.log" 2>&1) || true
  [ -s "$OUT/$target.json" ] || { echo "vitest wrote no report for $target: see $OUT/$target.log" >&2; exit 1; }
  python3 - "$OUT/$target.json" "$target" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))
tiers, total = {}, {"passed": 0, "failed": 0, "skipped": 0}
def count(tier, status):
    tiers.setdefault(tier, {"passed": 0, "failed": 0, "skipped": 0})[status] += 1
    total[status] += 1
for f in r["testResults"]:
    tier = re.search(r"tests/tier(\d)/", f["name"])
    tier = tier.group(1) if tier else "?"
    for a in f["assertionResults"]:
        count(tier, {"passed": "passed", "failed": "failed"}.get(a["status"], "skipped"))
    if f.get("status") == "failed" and not any(
        a["status"] == "failed" for a in f["assertionResults"]
    ):
        count(tier, "failed")  # a file that failed to load, or its hooks
def cell(t):
    c = tiers.get(t)
    return f"{c['passed']}/{sum(c.values())}" if c else "-"
print(f"| {sys.argv[2]} | {cell('1')} | {cell('2')} | {cell('3')} | "
      f"{total['passed']} | {total['failed']} | {total['skipped']} |")
PY
done
echo
python3 - "$OUT" <<'PY'
import json, sys
def failed(target):
    r = json.load(open(f"{sys.argv[1]}/{target}.json"))
    return {a["fullName"] for f in r["testResults"] for a in f["assertionResults"] if a["status"] == "failed"}
base = failed("dynoxide")
for target in ["dynamodb", "dax"]:
    extra = sorted(failed(target) - base)
    print(f"{target}: {len(extra)} failed that Dynoxide served directly passes")
    for name in extra:
        print(f"  - {name}")
PY
