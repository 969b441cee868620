#!/usr/bin/env bash
# The DynamoDB node's front (docs/PERFORMANCE.md): what one more hop costs.
# Side by side, alternating: Dynoxide served directly
# (examples/dynoxide_direct.rs) and `sessiondrill __node dynamodb` (the
# front in front of the same Dynoxide). One connection, one consistent
# GetItem of a 512-byte item at a time, REQUESTS per round, from Python's
# http.client (the client's own time is the same on both sides); a fresh
# connection each round (the front closes one idle for 10 s).
#
# usage: scripts/bench-front.sh [ROUNDS] [REQUESTS]   (builds what it needs)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
REQUESTS=${2:-5000}
cargo build --release --bins --example dynoxide_direct >/dev/null 2>&1 ||
  { echo "build failed: cargo build --release --bins --example dynoxide_direct" >&2; exit 1; }
WORK=$(mktemp -d /tmp/sessiondrill-bench-front.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
direct=$(free_port)
front=$(free_port)
./target/release/examples/dynoxide_direct "$direct" "$WORK/direct.db" 2>/dev/null &
pids+=($!)
./target/release/sessiondrill __node dynamodb --port "$front" --db "$WORK/front.db" 2>/dev/null &
pids+=($!)

python3 - "$direct" "$front" "$ROUNDS" "$REQUESTS" <<'PY'
import http.client, json, sys, time
direct, front, rounds, n = map(int, sys.argv[1:])
HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    # The node checks that SigV4 material is there, not the signature.
    "Authorization": "AWS4-HMAC-SHA256 Credential=sessiondrill/20261201/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
    "X-Amz-Date": "20261201T000000Z",
}

def connect(port):
    for _ in range(100):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/")
            c.getresponse().read()
            return c
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing answers on port {port}")

def call(c, op, body):
    c.request("POST", "/", json.dumps(body), {**HEADERS, "X-Amz-Target": "DynamoDB_20120810." + op})
    r = c.getresponse()
    data = r.read()
    if r.status != 200:
        sys.exit(f"{op}: {r.status} {data[:200]!r}")
    return data

def prepare(c):
    call(c, "CreateTable", {
        "TableName": "hop", "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}]})
    call(c, "PutItem", {"TableName": "hop", "Item": {"k": {"S": "x"}, "v": {"S": "y" * 512}}})

def measure(c, n):
    get = {"TableName": "hop", "Key": {"k": {"S": "x"}}, "ConsistentRead": True}
    lat = []
    for _ in range(n):
        t = time.perf_counter_ns()
        call(c, "GetItem", get)
        lat.append((time.perf_counter_ns() - t) / 1000)
    lat.sort()
    return lat[len(lat) // 2], lat[int(len(lat) * 0.99)]

targets = {"Dynoxide directly": direct, "the node (front)": front}
for port in targets.values():
    prepare(connect(port))
print("| round | target | p50 | p99 |")
print("|---:|---|---:|---:|")
for r in range(1, rounds + 1):
    for name, port in targets.items():
        c = connect(port)
        measure(c, 200)  # warm-up
        p50, p99 = measure(c, n)
        c.close()
        print(f"| {r} | {name} | {p50:.0f} µs | {p99:.0f} µs |")
PY
