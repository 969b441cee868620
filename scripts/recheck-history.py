#!/usr/bin/env python3
"""Re-check a sessiondrill operation history without sessiondrill's checker.

usage: scripts/recheck-history.py HISTORY.jsonl

Reads the history `run --history` wrote (docs/HISTORY.md) and judges it
from the lines alone, with rules written out here (not the Rust code's):

- an acknowledged write is a `write` completed `ok` (its `value` is the
  version it wrote);
- it is judged by the first read of the checker (`process: "checker"`: a
  checkpoint's or the final sweep's) of its key sent after it was
  acknowledged: lost when that read found an older version or nothing
  (an acknowledged delete of the key in between excuses nothing found);
  reads that failed are not in the history, so a write no checker read
  came after stays unjudged;
- at the end, a session is lost when the final sweep found nothing but an
  acknowledged write is newer than its last acknowledged delete, and stale
  when it found a version older than its newest acknowledged write.

Prints, per strategy: operations (completions of the load), acknowledged
writes, lost writes, unjudged writes, lost and stale sessions, as JSON.
Only sessions (`redis`, `dynamodb`, …): locks and rate limits carry no
versions. Exit 2 on a line that is not a history line, 1 if the history
says it was cut (its numbers would be partial).
"""

import json
import sys
from bisect import bisect_left
from collections import defaultdict


def main(path):
    ops = defaultdict(int)
    writes = defaultdict(list)  # strategy -> [(key, version, acked_us)]
    deletes = defaultdict(lambda: defaultdict(list))  # strategy -> key -> [acked_us]
    reads = defaultdict(lambda: defaultdict(list))  # strategy -> key -> [(sent_us, found, final)]
    sent = {}  # (strategy, key) of the checker's invocation -> time
    cut = False
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                op = json.loads(line)
                kind, proc = op["type"], op["process"]
            except (ValueError, KeyError) as e:
                print(f"{path}:{n}: not a history line ({e})", file=sys.stderr)
                return 2
            if op.get("f") == "history-cut":
                cut = True
                continue
            if proc == "nemesis":
                continue
            s, key = op["strategy"], op["key"]
            if proc == "checker":
                if kind == "invoke":
                    sent[(s, key)] = op["time"]
                elif kind == "ok":
                    final = op["phase"] == "final"
                    reads[s][key].append((sent.pop((s, key)), op["value"], final))
                continue
            if kind == "invoke":
                continue
            ops[s] += 1
            if kind != "ok":
                continue
            if op["f"] == "write":
                writes[s].append((key, op["value"], op["time"]))
            elif op["f"] == "delete":
                deletes[s][key].append(op["time"])

    out = {}
    for s in sorted(set(ops) | set(writes)):
        for key in reads[s]:
            reads[s][key].sort()
        lost_writes = unjudged = 0
        newest = {}  # key -> (version, acked_us) of the newest acknowledged write
        for key, version, acked in writes[s]:
            if key not in newest or version > newest[key][0]:
                newest[key] = (version, acked)
            rs = reads[s].get(key, [])
            i = bisect_left(rs, (acked,))
            if i == len(rs):
                unjudged += 1
                continue
            read_sent, found, _ = rs[i]
            excused = found is None and any(acked <= d <= read_sent for d in deletes[s].get(key, []))
            if not excused and (found is None or found < version):
                lost_writes += 1
        lost = stale = 0
        for key, rs in reads[s].items():
            finals = [r for r in rs if r[2]]
            if not finals or key not in newest:
                continue
            _, found, _ = finals[-1]
            version, acked = newest[key]
            if any(d >= acked for d in deletes[s].get(key, [])):
                continue
            if found is None:
                lost += 1
            elif found < version:
                stale += 1
        out[s] = {
            "ops": ops[s],
            "acked_writes": len(writes[s]),
            "lost_writes": lost_writes,
            "unjudged_writes": unjudged,
            "lost": lost,
            "stale": stale,
        }
    print(json.dumps(out, indent=2, sort_keys=True))
    if cut:
        print("the history was cut: these numbers are partial", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
