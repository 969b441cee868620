#!/usr/bin/env bash
# Install the system packages sessiondrill drives, if any is missing.
# Idempotent: does nothing (not even `apt-get update`) when all are present.
set -euo pipefail

# chromium: tests/html.rs renders the HTML report headless (no console errors,
# a screenshot).
packages=(redis-server redis-sentinel redis-tools memcached fuse3 tmux docker.io chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The packages start system-wide services on the default ports; sessiondrill
  # starts its own nodes on free ports and needs none of them.
  # Likewise Docker's system engine (its bridge and iptables rules): the
  # tests start a private engine without either (scripts/dockerd.sh).
  for svc in redis-server redis-sentinel memcached docker.socket docker containerd; do
    $sudo systemctl disable --now "$svc" >/dev/null 2>&1 || $sudo service "$svc" stop >/dev/null 2>&1 || true
  done
fi

# boto3 for tests/boto3 (the DAX node through the Python SDK): pip for the
# python3 on PATH (pyenv, a venv); Debian's package where pip may not
# install (an externally managed system Python).
if ! python3 -c 'import boto3' >/dev/null 2>&1; then
  echo "installing: boto3" >&2
  if ! python3 -m pip install --quiet boto3 >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3 python3-boto3 >/dev/null
  fi
  python3 -c 'import boto3' || { echo "boto3 could not be installed for $(command -v python3)" >&2; exit 1; }
fi

# moto in server mode for tests/cloud.rs (the FIS control plane: templates,
# experiments, IAM enforcement), tested with 5.2.5 (5.2.1 has no
# StartExperiment). Debian's python3-moto is older, so pip (for the user
# where the system Python is externally managed).
moto_ok() {
  python3 -c 'import flask, moto.server; from moto.fis.models import FISBackend; assert hasattr(FISBackend, "start_experiment")' >/dev/null 2>&1
}
if ! moto_ok; then
  echo "installing: moto[server]==5.2.5" >&2
  python3 -m pip install --quiet 'moto[server]==5.2.5' >/dev/null 2>&1 ||
    python3 -m pip install --quiet --user --break-system-packages 'moto[server]==5.2.5' >/dev/null 2>&1 || true
  moto_ok || { echo "moto[server]==5.2.5 could not be installed for $(command -v python3) (pip install 'moto[server]==5.2.5')" >&2; exit 1; }
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust from https://rustup.rs (stable, 1.88 or newer)" >&2
  exit 2
fi
