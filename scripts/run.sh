#!/usr/bin/env bash
# One command from a fresh clone to the main job: install what is missing,
# build, and open the dashboard on the default topology (hybrid: Redis with
# Sentinel failover in front of DynamoDB, plus write-through). Extra
# arguments go to `sessiondrill tui`, e.g. `./scripts/run.sh
# topologies/standalone-aof-everysec.yaml`; `sessiondrill` alone opens the
# scenario picker.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cargo build --release --quiet
if [ "$#" -eq 0 ]; then
  set -- topologies/hybrid.yaml
fi
exec ./target/release/sessiondrill tui "$@"
