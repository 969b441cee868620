#!/usr/bin/env bash
# A private Docker engine for the Docker provider's tests (and for users
# without one): `start` prints `export DOCKER_HOST=…`, `stop` takes it down
# and removes everything it made.
#
# Only host-network containers are used (see src/provision/docker), so the
# engine runs without a bridge, iptables rules or IP forwarding: it changes
# nothing in the machine's network configuration.
set -euo pipefail

root="${SESSIONDRILL_DOCKERD_DIR:-/tmp/sessiondrill-dockerd}"
sock="$root/docker.sock"
pidfile="$root/dockerd.pid"

running() {
  # A pid in the file that now belongs to another program does not count.
  [ -f "$pidfile" ] && [ "$(cat "/proc/$(cat "$pidfile")/comm" 2>/dev/null)" = dockerd ]
}

dk() {
  docker -H "unix://$sock" "$@"
}

# The directory must be ours, a real directory and closed to others: it
# holds the engine's socket (root on this machine to whoever can reach it),
# and `stop` removes it.
ours() {
  [ -d "$root" ] && [ ! -L "$root" ] && [ -O "$root" ]
}

# Kill pid $1 only if it is still the program $2 (a pid file may be stale,
# and the pid reused by another program).
kill_if() {
  [ -n "$1" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] && kill -9 "$1" 2>/dev/null || true
}

case "${1:-}" in
  start)
    if ! command -v dockerd >/dev/null 2>&1; then
      echo "dockerd not found: install the Debian package docker.io" >&2
      exit 2
    fi
    if ! running; then
      mkdir -p -m 700 "$root"
      if ! ours; then
        echo "$root is not a directory of this user: set SESSIONDRILL_DOCKERD_DIR" >&2
        exit 2
      fi
      chmod 700 "$root"
      rm -f "$root/dockerd.log" # never write through a link someone left
      dockerd \
        --data-root "$root/data" \
        --exec-root "$root/exec" \
        --pidfile "$pidfile" \
        -H "unix://$sock" \
        --containerd-namespace sessiondrill \
        --containerd-plugins-namespace sessiondrill-plugins \
        --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
        >"$root/dockerd.log" 2>&1 &
      pid=$!
      for _ in $(seq 1 300); do
        if dk version >/dev/null 2>&1 || ! kill -0 "$pid" 2>/dev/null; then break; fi
        sleep 0.1
      done
      if ! dk version >/dev/null 2>&1; then
        echo "dockerd did not start (it needs root); its log:" >&2
        tail -n 20 "$root/dockerd.log" >&2
        echo "(SESSIONDRILL_NO_DOCKER=1 ./scripts/test.sh runs the tests without Docker)" >&2
        kill "$pid" 2>/dev/null || true
        exit 1
      fi
    fi
    echo "export DOCKER_HOST=unix://$sock"
    ;;
  stop)
    if ! ours; then
      [ -e "$root" ] && echo "$root is not a directory of this user: left alone" >&2
      exit 0
    fi
    if running; then
      pid="$(cat "$pidfile")"
      # Containers first: a killed engine would leave them (and their ports).
      ids="$(dk ps -aq 2>/dev/null || true)"
      [ -z "$ids" ] || dk rm -f $ids >/dev/null 2>&1 || true
      kill "$pid"
      for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill_if "$pid" dockerd
      # Its own containerd, if it outlived it.
      kill_if "$(cat "$root/exec/containerd/containerd.pid" 2>/dev/null || true)" containerd
    fi
    # Whatever the engine left mounted (overlay layers, netns files) first.
    if [ -d "$root" ]; then
      awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/self/mounts | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null || true; done
      rm -rf "$root"
    fi
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
