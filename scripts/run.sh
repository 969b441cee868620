#!/usr/bin/env bash
# One command from a fresh clone to the main job: install what is missing,
# build, and bring up the default topology (hybrid: Redis with Sentinel
# failover in front of DynamoDB). Extra arguments go to `sessiondrill up`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
cargo build --release --quiet
exec ./target/release/sessiondrill up topologies/hybrid.yaml "$@"
