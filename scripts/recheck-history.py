#!/usr/bin/env python3
"""Re-check a sessiondrill operation history without sessiondrill's checker.

usage: scripts/recheck-history.py HISTORY.jsonl

Reads the history `run --history` wrote (docs/HISTORY.md) and judges it
from the lines alone, with rules written out here (not the Rust code's):

- an acknowledged write is a `write` completed `ok` (its `value` is the
  version it wrote);
- it is judged by every read of the checker (`process: "checker-N"`: a
  checkpoint's or the final sweep's; the reads before a flush, phase
  `read-first`, judge nothing, as in sessiondrill) of its key sent after it was
  acknowledged, in order, until one finds it lost: a read that found an
  older version or nothing loses it, unless a delete of the key was sent
  between the acknowledgement and the read (acknowledged, or one that may
  have happened: `info`, `abandoned`); reads of the checker that failed are
  not in the history, so a write no checker read came after is unjudged;
- at the end, a session is lost when the final sweep found nothing and
  stale when it found a version older than its newest acknowledged write,
  unless a delete was sent after that write.

Not modelled (the Rust checker's): expiry (`workload.ttl`: the shipped
scenarios' are longer than their loads), a cache in front of a store of
record (stale writes behind it), and reads judged by real-time order when
one session's operations overlapped (`concurrency_per_session` > 1).

Prints, per strategy: operations of the load (prefill and abandoned ones
left out, as in the report), acknowledged writes (the load's), lost writes,
unjudged writes, lost and stale sessions, as JSON. Strategies whose writes
carry no version (locks, rate limits) are left out. Exit 2 on a line that is
not a history line, 1 if the history says it was cut (its numbers would be
partial).
"""

import json
import sys
from bisect import bisect_left
from collections import defaultdict


def main(path):
    ops = defaultdict(int)
    acked = defaultdict(int)  # the load's acknowledged writes
    writes = defaultdict(list)  # strategy -> [(key, version, acked_us)]
    versionless = set()  # strategies whose writes carry no version
    deletes = defaultdict(lambda: defaultdict(list))  # strategy -> key -> [sent_us]
    reads = defaultdict(lambda: defaultdict(list))  # strategy -> key -> [(sent_us, found, final)]
    sent = {}  # a checker read's process -> when it was sent
    invoked = {}  # a delete's (strategy, process) -> when it was sent
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
            if isinstance(proc, str) and proc.startswith("checker"):
                if op.get("phase") == "read-first":
                    continue
                if kind == "invoke":
                    sent[proc] = op["time"]
                elif kind == "ok":
                    final = op["phase"] == "final"
                    reads[s][key].append((sent.pop(proc), op["value"], final))
                continue
            phase = op.get("phase", "load")
            if kind == "invoke":
                if op["f"] == "delete":
                    invoked[(s, proc)] = op["time"]
                continue
            if phase == "load":
                ops[s] += 1
            if op["f"] == "delete":
                # Acknowledged or maybe done: either may empty the key.
                at = invoked.pop((s, proc), op["time"])
                if kind in ("ok", "info"):
                    deletes[s][key].append(at)
            elif op["f"] == "write" and kind == "ok":
                if op["value"] is None:
                    versionless.add(s)
                    continue
                writes[s].append((key, op["value"], op["time"]))
                if phase == "load":
                    acked[s] += 1

    def deleted(s, key, after, before):
        return any(after <= d <= before for d in deletes[s].get(key, []))

    out = {}
    for s in sorted((set(ops) | set(writes)) - versionless):
        for key in reads[s]:
            reads[s][key].sort()
        lost_writes = unjudged = 0
        newest = {}  # key -> (version, acked_us) of the newest acknowledged write
        for key, version, at in writes[s]:
            if key not in newest or version > newest[key][0]:
                newest[key] = (version, at)
            later = reads[s].get(key, [])[bisect_left(reads[s].get(key, []), (at,)):]
            if not later:
                unjudged += 1
                continue
            for read_sent, found, _ in later:
                if (found is None or found < version) and not deleted(s, key, at, read_sent):
                    lost_writes += 1
                    break
        lost = stale = 0
        for key, rs in reads[s].items():
            finals = [r for r in rs if r[2]]
            if not finals or key not in newest:
                continue
            read_sent, found, _ = finals[-1]
            version, at = newest[key]
            if deleted(s, key, at, read_sent):
                continue
            if found is None:
                lost += 1
            elif found < version:
                stale += 1
        out[s] = {
            "ops": ops[s],
            "acked_writes": acked[s],
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
