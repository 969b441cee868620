#!/usr/bin/env bash
# The public DynamoDB conformance suite (github.com/nubo-db/dynamodb-conformance,
# 601 tests in three tiers, each checked against real DynamoDB by its
# authors) against our DynamoDB node and through our DAX node in front of
# it (docs/RELIABILITY.md). The suite is not part of this repository:
# clone it yourself and give its directory.
#
# usage: scripts/conformance.sh SUITE_DIR [VITEST FILTER...]   (release build)
#   e.g. scripts/conformance.sh ../dynamodb-conformance tests/tier1
#
# Installs the suite's npm packages (npm install, into SUITE_DIR), brings
# up a DynamoDB node and a DAX node on loopback, runs the suite against
# each, prints the passed / failed / skipped tests per tier and target,
# and takes the nodes down. Failed tests are listed in
# $OUT/TARGET.json (vitest's JSON report; OUT is printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
SUITE=${1:?usage: scripts/conformance.sh SUITE_DIR [VITEST FILTER...]}
shift
SUITE=$(cd "$SUITE" && pwd)
grep -q '"name": "dynamodb-conformance"' "$SUITE/package.json" 2>/dev/null ||
  { echo "$SUITE is not a checkout of dynamodb-conformance" >&2; exit 2; }
command -v npm >/dev/null || { echo "npm missing (Debian: nodejs npm)" >&2; exit 2; }
BIN=$PWD/target/release/sessiondrill
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 2; }

[ -d "$SUITE/node_modules/vitest" ] || (cd "$SUITE" && npm install --no-audit --no-fund >/dev/null)

WORK=$(mktemp -d /tmp/sessiondrill-conformance.XXXXXX)
OUT=$(mktemp -d /tmp/sessiondrill-conformance-results.XXXXXX)
up_pid=
cleanup() {
  [ -z "$up_pid" ] || { kill -INT "$up_pid" 2>/dev/null || true; wait "$up_pid" 2>/dev/null || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT

cat >"$WORK/conformance.yaml" <<'EOF'
name: conformance
nodes:
  db: { kind: dynamodb }
  dax: { kind: dax }
EOF
SESSIONDRILL_HOME=$WORK/home "$BIN" up "$WORK/conformance.yaml" --json >"$WORK/up.json" 2>"$WORK/up.log" &
up_pid=$!
for _ in $(seq 1 100); do
  [ -s "$WORK/up.json" ] && break
  kill -0 "$up_pid" 2>/dev/null || { cat "$WORK/up.log" >&2; exit 1; }
  sleep 0.1
done
url() { python3 -c "import json,sys; print(next(n['url'] for n in json.load(open(sys.argv[1]))['nodes'] if n['name'] == sys.argv[2]))" "$WORK/up.json" "$1"; }

echo "| target | tier 1 | tier 2 | tier 3 | passed | failed | skipped |"
echo "|---|---|---|---|---:|---:|---:|"
for target in dynamodb dax; do
  node=db
  [ "$target" = dax ] && node=dax
  (cd "$SUITE" &&
    DYNAMODB_ENDPOINT=$(url "$node") AWS_REGION=us-east-1 \
      AWS_ACCESS_KEY_ID=sessiondrill AWS_SECRET_ACCESS_KEY=sessiondrill \
      npx vitest run "$@" --reporter=json --outputFile="$OUT/$target.json" >/dev/null 2>&1) || true
  python3 - "$OUT/$target.json" "$target" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))
tiers, total = {}, {"passed": 0, "failed": 0, "skipped": 0}
for f in r["testResults"]:
    tier = re.search(r"tests/tier(\d)/", f["name"])
    tier = tier.group(1) if tier else "?"
    for a in f["assertionResults"]:
        s = {"passed": "passed", "failed": "failed"}.get(a["status"], "skipped")
        tiers.setdefault(tier, {"passed": 0, "failed": 0, "skipped": 0})[s] += 1
        total[s] += 1
    if f.get("status") == "failed" and not f["assertionResults"]:
        tiers.setdefault(tier, {"passed": 0, "failed": 0, "skipped": 0})["failed"] += 1
        total["failed"] += 1
def cell(t):
    c = tiers.get(t)
    return f"{c['passed']}/{c['passed'] + c['failed'] + c['skipped']}" if c else "-"
print(f"| {sys.argv[2]} | {cell('1')} | {cell('2')} | {cell('3')} | "
      f"{total['passed']} | {total['failed']} | {total['skipped']} |")
PY
done
echo
echo "vitest reports: $OUT"
