#!/usr/bin/env bash
# Dashboard cost (results in docs/PERFORMANCE.md): the same topology and
# default load, once headless (`run --live-faults`: provisioned as the
# dashboard provisions, every link proxied and data on the power-loss
# filesystem) and once in the dashboard (`tui` in a tmux pane at 15 fps). For each: CPU seconds of the sessiondrill process
# itself (utime+stime from /proc, sampled 5 s into the load and 5 s before
# its end, so start-up and teardown are left out) and the throughput the
# report measured.
#   usage: scripts/bench-dashboard.sh [TOPOLOGY] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
topology=${1:-topologies/standalone-aof-everysec.yaml}
secs=${2:-60}
cargo build --release --quiet
bin=$PWD/target/release/sessiondrill
work=$(mktemp -d /tmp/sessiondrill-bench-XXXX)
cleanup() {
  tmux -S "$work/tmux.sock" kill-server 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
tck=$(getconf CLK_TCK)
cpu() { awk -v t="$tck" '{ print ($14 + $15) / t }' "/proc/$1/stat"; }
window=$((secs - 10))

measure() { # pid → CPU seconds over the window
  local pid=$1 a b
  sleep 5; a=$(cpu "$pid")
  sleep "$window"; b=$(cpu "$pid")
  echo "$a $b" | awk '{ print $2 - $1 }'
}

# Headless.
SESSIONDRILL_HOME=$work/h "$bin" run "$topology" --live-faults --duration "${secs}s" \
  --json "$work/headless.json" >/dev/null 2>&1 &
pid=$!
headless_cpu=$(measure "$pid")
wait "$pid" || true

# Dashboard, in a 120x40 tmux pane (15 fps is the default).
tmux -S "$work/tmux.sock" -f /dev/null new-session -d -s b -x 120 -y 40 \
  "exec env SESSIONDRILL_HOME=$work/t $bin tui $topology --duration ${secs}s --report-dir $work"
sleep 0.5
pid=$(tmux -S "$work/tmux.sock" display -p -t b '#{pane_pid}')
tui_cpu=$(measure "$pid")
until tmux -S "$work/tmux.sock" capture-pane -p -t b | grep -q Summary; do sleep 1; done
tmux -S "$work/tmux.sock" send-keys -t b e
until ls "$work"/sessiondrill-*.json >/dev/null 2>&1; do sleep 0.2; done
tmux -S "$work/tmux.sock" send-keys -t b q

python3 - "$work/headless.json" "$work"/sessiondrill-*.json "$headless_cpu" "$tui_cpu" "$window" <<'PY'
import json, sys
h, t = (json.load(open(p)) for p in sys.argv[1:3])
hc, tc, w = map(float, sys.argv[3:6])
for name in h["strategies"]:
    a, b = h["strategies"][name]["throughput"], t["strategies"][name]["throughput"]
    pa, pb = h["strategies"][name]["latency_us"]["p99"], t["strategies"][name]["latency_us"]["p99"]
    print(f"{name}: throughput headless {a:.1f} ops/s, dashboard {b:.1f} ops/s ({b / a * 100:.1f} %); "
          f"p99 headless {pa / 1000:.2f} ms, dashboard {pb / 1000:.2f} ms")
print(f"CPU over {w:.0f} s of load: headless {hc:.2f} s ({hc / w * 100:.1f} % of a core), "
      f"dashboard {tc:.2f} s ({tc / w * 100:.1f} %); the dashboard's own share {(tc - hc) / w * 100:.1f} % of a core")
PY
