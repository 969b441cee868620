#!/usr/bin/env bash
# Crash cycles (issue 19, docs/RELIABILITY.md): CYCLES times, start a drill
# with power-loss mounts and SIGKILL sessiondrill at a random moment (while
# it provisions, loads, injects, sweeps); then count what is left after
# WAIT seconds: processes of the run (redis-server, redis-sentinel,
# sessiondrill nodes and watchdogs under the run's home), FUSE mounts under
# it and run directories. Prints one line per cycle, then the totals and the
# time the watchdog took to leave nothing. With PROVIDER=docker the drill's
# nodes are containers (DOCKER_HOST: scripts/dockerd.sh's engine) and the
# containers labelled as sessiondrill's are counted too.
#
# usage: [PROVIDER=docker] scripts/crash-cycles.sh [CYCLES] [SCENARIO] [WAIT]   (release build)
set -euo pipefail
cd "$(dirname "$0")/.."
CYCLES=${1:-100}
SCENARIO=${2:-topologies/aof-everysec-power-loss.yaml}
WAIT=${3:-30}
PROVIDER=${PROVIDER:-process}
case $PROVIDER in
process) ;;
docker)
  command -v docker >/dev/null || { echo "docker CLI missing (package docker.io)" >&2; exit 2; }
  docker version >/dev/null 2>&1 || { echo "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset}; scripts/dockerd.sh start)" >&2; exit 2; }
  ;;
*) echo "PROVIDER must be process or docker" >&2; exit 2 ;;
esac
BIN=$PWD/target/release/sessiondrill
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 2; }
HOME_DIR=$(mktemp -d /tmp/sessiondrill-crash.XXXXXX)
pid=
trap '{ [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true; }; kill_all; remove_containers; fusermount3 -u -z "$HOME_DIR"/runs/*/nodes/*/data 2>/dev/null || true; rm -rf "$HOME_DIR"' EXIT

# Every process working under $HOME_DIR, SIGKILLed (clean-up by hand).
kill_all() {
  for d in /proc/[0-9]*; do
    [ "${d#/proc/}" = "$$" ] && continue
    if { tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null | grep -q -- "$HOME_DIR" ||
      readlink "$d/cwd" 2>/dev/null | grep -q -- "^$HOME_DIR"; then
      kill -KILL "${d#/proc/}" 2>/dev/null || true
    fi
  done
}

# This home's sessiondrill containers (none with the process provider):
# those labelled as sessiondrill's whose bind mount is under $HOME_DIR, so
# that another user's or run's are neither counted nor removed. Fails when
# the engine does not answer (nothing was checked).
containers() {
  [ "$PROVIDER" = docker ] || return 0
  local ids id
  ids=$(docker ps -aq --filter label=io.sessiondrill.run) || return 1
  for id in $ids; do
    docker inspect -f '{{range .Mounts}}{{.Source}} {{end}}' "$id" 2>/dev/null |
      grep -q -- "$HOME_DIR" && echo "$id"
  done
  return 0
}

remove_containers() {
  local ids
  ids=$(containers) || return 0
  [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
}

# What of a run under $HOME_DIR is still there: processes, mounts, dirs,
# containers.
left() {
  local procs mounts dirs conts
  # By command line or working directory: redis-server renames itself
  # ("redis-server 127.0.0.1:PORT") but works in its data directory.
  procs=0
  for d in /proc/[0-9]*; do
    [ "${d#/proc/}" = "$$" ] && continue
    if { tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null | grep -q -- "$HOME_DIR" ||
      readlink "$d/cwd" 2>/dev/null | grep -q -- "^$HOME_DIR"; then
      procs=$((procs + 1))
    fi
  done
  mounts=$(grep -c -- " $HOME_DIR" /proc/self/mounts || true)
  dirs=$(find "$HOME_DIR/runs" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)
  # An engine that does not answer is not "no containers".
  if conts=$(containers); then conts=$(printf '%s' "$conts" | grep -c . || true); else conts=unknown; fi
  echo "$procs $mounts $dirs $conts"
}

# A drill that cannot start at all would make every cycle look clean: run
# it once to its end first — it must write its report (exit 1 is also an
# expectation not met, so the exit code alone does not tell).
SESSIONDRILL_HOME=$HOME_DIR "$BIN" --provider "$PROVIDER" run "$SCENARIO" \
  --json "$HOME_DIR/first.json" >"$HOME_DIR/first.log" 2>&1 || true
if [ ! -s "$HOME_DIR/first.json" ]; then
  echo "the drill does not run to its end; its output:" >&2
  cat "$HOME_DIR/first.log" >&2
  exit 1
fi
rm -f "$HOME_DIR/first.log" "$HOME_DIR/first.json"

total_left=0
times=()
echo "| cycle | killed after (ms) | clean after (ms) | processes / mounts / run dirs / containers left |"
echo "|---:|---:|---:|---|"
for cycle in $(seq 1 "$CYCLES"); do
  # Anywhere from provisioning (0.1 s) to the sweep (the drill loads 6 s).
  delay_ms=$((100 + RANDOM % 7000))
  SESSIONDRILL_HOME=$HOME_DIR "$BIN" --provider "$PROVIDER" run "$SCENARIO" >/dev/null 2>&1 &
  pid=$!
  python3 -c "import time; time.sleep($delay_ms / 1000)"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  start=$(date +%s%N)
  clean_ms=-1
  while :; do
    read -r p m d c <<<"$(left)"
    now=$(date +%s%N)
    elapsed=$(((now - start) / 1000000))
    if [ "$p" -eq 0 ] && [ "$m" -eq 0 ] && [ "$d" -eq 0 ] && [ "$c" = 0 ]; then
      clean_ms=$elapsed
      break
    fi
    [ "$elapsed" -ge $((WAIT * 1000)) ] && break
    sleep 0.05
  done
  if [ "$clean_ms" -lt 0 ]; then
    total_left=$((total_left + 1))
    echo "| $cycle | $delay_ms | not within ${WAIT} s | $p / $m / $d / $c |"
    # Clean by hand so the next cycle starts from nothing.
    kill_all
    remove_containers
    for mnt in $(awk -v h="$HOME_DIR" '$2 ~ "^"h {print $2}' /proc/self/mounts); do
      fusermount3 -u -z "$mnt" 2>/dev/null || true
    done
    rm -rf "$HOME_DIR/runs"
  else
    times+=("$clean_ms")
    echo "| $cycle | $delay_ms | $clean_ms | 0 / 0 / 0 / 0 |"
  fi
done
echo
summary=$(printf '%s\n' "${times[@]:-}" | sort -n | awk 'NF {a[++n] = $1}
  END { if (n) printf "median %d / p90 %d / max %d ms", a[int((n + 1) / 2)], a[int(n * 0.9 + 0.5)], a[n] }')
echo "cycles: $CYCLES, with leftovers after ${WAIT} s: $total_left; time until nothing was left: $summary"
