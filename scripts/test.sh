#!/usr/bin/env bash
# One command that runs every test: install what is missing, then build once
# and run the unit and integration tests (real Redis, Sentinel, Cluster,
# DynamoDB node and memcached processes on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
if cargo nextest --version >/dev/null 2>&1; then
  exec cargo nextest run --no-fail-fast "$@"
else
  exec cargo test --no-fail-fast "$@"
fi
