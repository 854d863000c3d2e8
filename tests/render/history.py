#!/usr/bin/python3
"""Write a sandbench.history/v1 document (the shape `sandbench history --json` prints, see
docs/report-html.md) with a known step: history.py OUT. Two drivers, 30 runs a day apart; native's
lifecycle_ms steps up 25 % at run 20, marked as a change point."""
import json
import random
import sys

rnd = random.Random(3)
series = []
for drv, base, step_at in (("process", 0.55, None), ("native", 2.2, 20)):
    pts = []
    for i in range(30):
        v = base * (1 + 0.04 * (rnd.random() - 0.5)) * (1.25 if step_at is not None and i >= step_at else 1)
        pts.append({"run_id": "%032x" % (i * 7919 + len(drv)), "t": "2026-11-%02dT12:00:00Z" % (i + 1), "value": v})
    cps = [] if step_at is None else [{"run_id": pts[step_at]["run_id"], "index": step_at, "size": 0.25, "p": 0.001}]
    series.append({"scenario": "latency-spawn", "driver": drv, "metric": "lifecycle_ms", "unit": "ms",
                   "higher_is_better": False, "points": pts, "change_points": cps})
json.dump({"schema": "sandbench.history/v1", "series": series}, open(sys.argv[1], "w"), indent=1)
