#!/usr/bin/env bash
# One command that runs every test: install what is missing, then build once
# and run the unit and integration tests (real Redis, Sentinel, Cluster,
# DynamoDB node and memcached processes on loopback, and the same nodes as
# containers on a private Docker engine this script starts and stops).
#
# SESSIONDRILL_NO_DOCKER=1 skips the Docker provider's tests (machines
# where no engine can run); with an engine already reachable through
# DOCKER_HOST, that one is used.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
if [ -z "${SESSIONDRILL_NO_DOCKER:-}" ]; then
  if [ -z "${DOCKER_HOST:-}" ] || ! docker version >/dev/null 2>&1; then
    trap './scripts/dockerd.sh stop' EXIT
    engine="$(./scripts/dockerd.sh start)" || exit 1
    eval "$engine"
  fi
  # Tests never pull: images are built here from the installed programs.
  export DOCKER_HOST SESSIONDRILL_REQUIRE_DOCKER=1 SESSIONDRILL_PULL=never
fi
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-fail-fast "$@"
else
  cargo test --no-fail-fast "$@"
fi
