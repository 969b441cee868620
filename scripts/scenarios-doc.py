#!/usr/bin/env python3
"""Turn a `sessiondrill compare ... --json FILE` run of the library into the
per-scenario part of docs/scenarios.md: question, the seed's claim, how to
run it, what was measured, and each expectation's verdict.

    sessiondrill compare topologies/<scenarios>.yaml --json run.json
    scripts/scenarios-doc.py run.json "2026-11-24, release build, 2 cores" > part.md
"""
import json
import sys
from pathlib import Path

import yaml

SEEDS = {
    "000": "000_3f4be348d358fd3a.txt",
    "001": "001_41eee1deb987fbef.txt",
    "002": "002_6aabc1cba53fd077.txt",
    "003": "003_5e5582c7601f8fcc.txt",
    "004": "004_23af944887e6f31a.txt",
}

reports = json.load(open(sys.argv[1]))
when = sys.argv[2]
root = Path(__file__).resolve().parent.parent / "topologies"
by_name = {}
for f in sorted(root.glob("*.yaml")):
    doc = yaml.safe_load(f.read_text())
    if isinstance(doc, dict) and "strategies" in doc:
        by_name[doc["name"]] = (f.name, doc)

for r in reports:
    file, doc = by_name[r["scenario"]]
    claim = doc.get("claim", {})
    print(f"### {r['scenario']}\n")
    print(f"**Question.** {doc.get('question', '')}  ")
    print(f"**Claim** (seed {claim.get('seed')}, `{SEEDS.get(claim.get('seed'), '?')}`): {claim.get('says', '')}  ")
    print(f"**Run:** `sessiondrill run topologies/{file}`  ")
    print(f"**Measured** ({when}, load {r['duration_ms'] / 1000:.0f} s; the file's own duration is {doc['workload']['duration']}):\n")
    print("| strategy | acked writes | lost writes | lost sessions | lost share | stale | unverified | unavailable | longest stall | p50 ms | p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, s in r["strategies"].items():
        judged = s["durable"] + s["lost"] + s["stale"] + s["resurrected"] + s["unverified"]
        share = f"{s['lost'] / judged * 100:.1f} %" if judged else "—"
        print(
            f"| {name} | {sum(s['writes'].values())} | {s['writes']['lost']} | {s['lost']} | {share} | {s['stale']} | "
            f"{s['unverified']} | {s['unavailable_ms'] / 1000:.2f} s | {s.get('max_stall_ms', 0) / 1000:.2f} s | {s['latency_us']['p50'] / 1000:.2f} | "
            f"{s['latency_us']['p99'] / 1000:.2f} |"
        )
    print()
    for f in r.get("faults", []):
        if not f.get("fired", True) or f.get("error"):
            print(f"- **{f['kind']} {f['target']} did not {'work' if f.get('fired', True) else 'fire'}**: {f.get('error', '')}")
            continue
        for name, w in f["strategies"].items():
            if w["lost_writes"] or w["stale_writes"]:
                seconds = f", {w['lost_writes_s']:.2f} s of writes at {w['write_rate']:.0f}/s" if w.get("lost_writes_s") else ""
                unsynced = f"; the node had gone {f['unsynced_ms']} ms without an fsync" if f.get("unsynced_ms") is not None else ""
                budget = "unbounded" if w["budget_writes"] is None else f"≤ {w['budget_writes']:.0f}"
                print(f"- {f['kind']} {f['target']} at {f['at_ms'] / 1000:.1f} s: {name} lost {w['lost_writes']} acknowledged writes{seconds} (budget {budget}){unsynced}" + (f"; {w['stale_writes']} stale" if w["stale_writes"] else ""))
    for name, s in r["strategies"].items():
        if name == "redis-lock":
            print(f"- {name}: **{s['violations']}** locks granted while an acknowledged lease was live (two holders); {s['refused']} acquires refused")
        if name == "redis-rate-limit":
            print(f"- {name}: **{s['violations']}** admits beyond the limit within the window; {s['refused']} requests denied")
        if s.get("lost_from_cache") or s.get("stale_from_cache"):
            print(f"- {name}: {s['lost_from_cache']} of its {s['lost']} lost and {s['stale_from_cache']} of its {s['stale']} stale sessions were served by the cache (the store of record has the acknowledged version)")
        if s.get("fallbacks"):
            print(f"- {name}: {s['fallbacks']} operations fell back to the store of record when the cache failed")
    for node, c in r.get("caches", {}).items():
        ratio = lambda x: f"{x['hits'] / (x['hits'] + x['misses']) * 100:.1f} %" if x['hits'] + x['misses'] else "—"
        print(f"- DAX {node} ({c['role']}): item cache hit ratio {ratio(c['item'])}, query cache {ratio(c['query'])}, {c['item']['evictions']} evictions")
    for e in r["expectations"]:
        mark = "✓" if e["ok"] else "✗"
        obs = e.get("observed")
        obs = f" (observed {obs:.4g})" if isinstance(obs, (int, float)) else ""
        print(f"- {mark} `{e['expr']}`{obs}")
    print()
