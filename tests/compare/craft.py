#!/usr/bin/python3
"""Write a crafted sandbench.report/v1 for the compare tests.

craft.py OUT [--scenario S] [--driver D] [--schema X] [--param k=v]... [--host k=JSON]...
             [--metric NAME UNIT HIB CENTRE N SEED FACTOR]... [--status S --reason R]
             [--started RFC3339] [--host-ref CENTRE SEED FACTOR]
craft.py OUT --shuffle-of REPORT [--seed N]

Each metric gets N samples centre * (1 + 0.2 * (u - 0.5)) * FACTOR with u from random.Random(SEED),
so two metrics with the same SEED and FACTOR 1 vs 2 are a clean 2x change. HIB is 0 or 1.
--host-ref gives every sample a host reference time (host_ref_ms) drawn the same way, and the
report its host_reference summary: with FACTOR 1.3 on both a metric and the reference, the run
looks like the same sandbox on a host 30 % slower.
--shuffle-of writes the same samples in another order (same values, new run id)."""
import argparse
import json
import math
import random
import sys


def percentile(sorted_v, p):
    rank = max(1, min(len(sorted_v), math.ceil(p / 100 * len(sorted_v))))
    return sorted_v[rank - 1]


def confidence(n):
    for limit, label in ((3, "smoke"), (10, "iteration"), (30, "checkpoint"), (100, "p50/p90-grade"),
                         (500, "p95-grade")):
        if n < limit:
            return label
    return "p99-grade"


def aggregate(name, unit, hib, values):
    s = sorted(values)
    n = len(s)
    mean = sum(s) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in s) / (n - 1)) if n > 1 else 0.0
    return {"metric": name, "unit": unit, "higher_is_better": hib, "n": n, "min": s[0],
            "p50": percentile(s, 50), "p90": percentile(s, 90), "p95": percentile(s, 95),
            "p99": percentile(s, 99), "max": s[-1], "mean": mean, "stdev": sd,
            "cv": sd / abs(mean) if mean else 0.0, "median_ci": [s[0], s[-1]],
            "confidence": confidence(n), "warnings": []}


def host(overrides):
    h = {"os": "Linux", "kernel": "6.1.0", "arch": "x86_64", "cpu_model": "Test CPU @ 2.00GHz",
         "cpu_count": 2, "mem_total": 8 * 1024 ** 3, "load_avg": [0.1, 0.1, 0.1], "noise_hints": []}
    h.update(overrides)
    return h


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--scenario", default="latency-spawn")
    ap.add_argument("--driver", default="process")
    ap.add_argument("--schema", default="sandbench.report/v1")
    ap.add_argument("--param", action="append", default=[])
    ap.add_argument("--host", action="append", default=[])
    ap.add_argument("--metric", nargs=7, action="append", default=[])
    ap.add_argument("--status", default="ok")
    ap.add_argument("--reason")
    ap.add_argument("--started", default="2024-01-01T00:00:00Z")
    ap.add_argument("--shuffle-of")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--host-ref", nargs=3)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    run_id = "%032x" % random.Random(a.out).getrandbits(128)
    if a.shuffle_of:
        r = json.load(open(a.shuffle_of))
        measured = [s for s in r["samples"] if not s["warmup"]]
        rnd.shuffle(measured)
        for i, s in enumerate(measured):
            s["iteration"] = i
        r["samples"] = measured
        r["run"]["id"] = run_id
        json.dump(r, open(a.out, "w"), indent=2)
        return 0
    metrics = {}
    for name, unit, hib, centre, n, seed, factor in a.metric:
        g = random.Random(int(seed))
        metrics[name] = (unit, hib == "1",
                         [float(centre) * (1 + 0.2 * (g.random() - 0.5)) * float(factor) for _ in range(int(n))])
    n = max((len(v[2]) for v in metrics.values()), default=0)
    samples = []
    for i in range(n):
        samples.append({"iteration": i, "warmup": False,
                        "metrics": {k: v[2][i] for k, v in metrics.items() if i < len(v[2])}})
    r = {
        "schema": a.schema,
        "tool": {"name": "sandbench", "version": "0.1.0", "git": "test"},
        "run": {"id": run_id, "started_at": a.started, "ended_at": a.started,
                "host": host({k: json.loads(v) for k, v in (h.split("=", 1) for h in a.host)})},
        "scenario": {"name": a.scenario, "axis": "latency", "params": dict(p.split("=", 1) for p in a.param)},
        "driver": {"name": a.driver, "version": "1.0"},
        "config": {"runs": n, "warmup": 0, "timeout": 60},
        "status": a.status,
        "samples": samples,
        "aggregates": [aggregate(k, v[0], v[1], v[2]) for k, v in metrics.items()],
        "tags": {},
    }
    if a.host_ref:
        centre, seed, factor = a.host_ref
        g = random.Random(int(seed))
        refs = [float(centre) * (1 + 0.2 * (g.random() - 0.5)) * float(factor) for _ in range(n)]
        for s, ref in zip(samples, refs):
            s["host_ref_ms"] = ref
        r["host_reference"] = dict(aggregate("host_ref_ms", "ms", False, refs), command="/bin/true")
    if a.reason:
        r["reason"] = a.reason
    json.dump(r, open(a.out, "w"), indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
