#!/usr/bin/python3
"""Write a synthetic matrix (sandbench.matrix/v1 + one sandbench.report/v1 per cell) for the report
and terminal tests: synth_matrix.py OUT_DIR [--drivers 12] [--scenarios 50] [--samples 10].

Scenarios cycle through shapes the renderers treat specially: phases (prepare/create/start/
first_exec/total), a shell-pool ramp (NAME_cN_ms levels + the breakpoint), per-box TTI metrics with a
recorded series of ready times, and plain ones with long metric names. The last driver is unusable
(every cell SKIP), as on a host missing a runtime. Deterministic (seeded)."""
import argparse
import json
import math
import os
import random

LONG = "density_max_concurrency_before_p95_doubles"


def percentile(s, p):
    return s[max(1, min(len(s), math.ceil(p / 100 * len(s)))) - 1]


def aggregate(name, unit, hib, values):
    s = sorted(values)
    n = len(s)
    mean = sum(s) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in s) / (n - 1)) if n > 1 else 0.0
    lo, hi = s[max(0, n // 2 - 2)], s[min(n - 1, n // 2 + 1)]
    return {"metric": name, "unit": unit, "higher_is_better": hib, "n": n, "min": s[0],
            "p50": percentile(s, 50), "p90": percentile(s, 90), "p95": percentile(s, 95),
            "p99": percentile(s, 99), "p999": s[-1], "max": s[-1], "mean": mean, "stdev": sd,
            "cv": sd / abs(mean) if mean else 0.0, "median_ci": [lo, hi], "median_ci_level": 0.95,
            "confidence": "iteration" if n < 10 else "checkpoint", "outliers": 0, "warnings": []}


def shape(i):
    """(scenario name, axis, [(metric, unit, hib, centre)])"""
    kind = i % 4
    if kind == 0:
        return ("latency-cold-start-%02d" % i, "latency",
                [("total_ms", "ms", False, 8.0), ("prepare_ms", "ms", False, 2.0), ("create_ms", "ms", False, 3.0),
                 ("start_ms", "ms", False, 1.0), ("first_exec_ms", "ms", False, 2.0)])
    if kind == 1:
        return ("density-breakpoint-%02d" % i, "density",
                [("shell_pool_run_completion_c%d_ms" % c, "ms", False, 0.1 * c ** 0.7) for c in (1, 2, 4, 8, 16, 32)]
                + [(LONG, "slots", True, 8.0)])
    if kind == 2:
        return ("latency-tti-burst-%02d" % i, "latency",
                [("tti_p50_ms", "ms", False, 5.0), ("tti_p95_ms", "ms", False, 9.0), ("first_ready_ms", "ms", False, 3.0)]
                + [("tti_box%d_ms" % b, "ms", False, 3.0 + b) for b in range(8)])
    return ("throughput-synthetic-path-with-a-long-name-%02d" % i, "throughput",
            [("bytes_moved_through_the_sandbox_per_second", "MiB/s", True, 900.0),
             ("wall_ms", "ms", False, 12.0), ("first_byte_ms", "ms", False, 0.8),
             ("peak_rss_bytes", "bytes", False, 25e9), ("syscalls_per_op", "count", False, 3.0),
             ("errors_seen", "count", False, 0.0)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--drivers", type=int, default=12)
    ap.add_argument("--scenarios", type=int, default=50)
    ap.add_argument("--samples", type=int, default=10)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rnd = random.Random(42)
    names = ["process", "native", "bwrap", "crun", "runc", "lxc", "firejail", "podman", "podman-runc", "docker",
             "containerd", "qemu", "runsc", "nspawn"]
    drivers = (names + ["drv%02d" % k for k in range(a.drivers)])[:a.drivers]
    host = {"os": "Debian GNU/Linux 12 (bookworm)", "kernel": "6.1.0", "arch": "x86_64",
            "cpu_model": "Synthetic CPU", "cpu_count": 2, "mem_total": 8 * 1024 ** 3,
            "hostname_hash": "0123456789abcdef", "load_avg": [0.1, 0.1, 0.1], "noise_hints": []}
    run = {"id": "%032x" % 0xabc, "started_at": "2026-12-01T10:00:00Z", "ended_at": "2026-12-01T11:00:00Z",
           "host": host}
    tool = {"name": "sandbench", "version": "0.1.0", "git": "synthetic"}
    reports, cells = [], []
    for si in range(a.scenarios):
        scn, axis, metrics = shape(si)
        per_metric = {m[0]: {} for m in metrics}
        for di, drv in enumerate(drivers):
            unusable = di == len(drivers) - 1
            path = "%s--%s.json" % (scn, drv)
            entry = {"scenario": scn, "driver": drv, "status": "skip" if unusable else "ok", "path": path}
            rep = {"schema": "sandbench.report/v1", "tool": tool, "run": run,
                   "scenario": {"name": scn, "axis": axis, "params": {"n": "8"}},
                   "driver": {"name": drv, "version": "1.%d" % di},
                   "config": {"runs": a.samples, "warmup": 0, "timeout": 60.0},
                   "status": "ok", "samples": [], "aggregates": [],
                   "statistics": {"percentile_method": "nearest-rank", "stdev": "bessel-corrected (n-1)",
                                  "median_ci_level": 0.95}, "tags": {}}
            if unusable:
                rep["status"] = "skip"
                rep["reason"] = "driver %s is not usable here: not installed" % drv
                entry["reason"] = rep["reason"]
            else:
                scale = 1.0 + di * 0.7
                vals = {}
                for (m, unit, hib, centre) in metrics:
                    f = scale if not hib else 1 / scale
                    vals[m] = [centre * f * (1 + 0.2 * (rnd.random() - 0.5)) for _ in range(a.samples)]
                for it in range(a.samples):
                    rep["samples"].append({"iteration": it, "warmup": False,
                                           "metrics": {m: vals[m][it] for m in vals}})
                for (m, unit, hib, centre) in metrics:
                    agg = aggregate(m, unit, hib, vals[m])
                    rep["aggregates"].append(agg)
                    per_metric[m][drv] = {"p50": agg["p50"], "p99": agg["p99"], "n": agg["n"]}
                if si % 4 == 2:
                    ready = sorted((3 + b * scale + rnd.random()) / 1000 for b in range(8))
                    rep["series"] = [{"iteration": a.samples - 1, "name": "boxes_ready", "unit": "boxes",
                                      "points": [[t, k + 1] for k, t in enumerate(ready)]}]
            reports.append(entry)
            with open(os.path.join(a.out, path), "w") as f:
                json.dump(rep, f)
        for (m, unit, hib, centre) in metrics:
            vals = per_metric[m]
            cell = {"scenario": scn, "metric": m, "unit": unit, "higher_is_better": hib, "values": vals,
                    "status": {drivers[-1]: "skip"}}
            if len(vals) > 1:
                cell["best"] = (max if hib else min)(vals, key=lambda d: vals[d]["p50"])
            cells.append(cell)
    summary = {"schema": "sandbench.matrix/v1", "tool": tool, "run": run,
               "drivers": [{"name": d, "usable": k != len(drivers) - 1, "version": "1.%d" % k,
                            "reason": "" if k != len(drivers) - 1 else "not installed"} for k, d in enumerate(drivers)],
               "reports": reports, "cells": cells}
    with open(os.path.join(a.out, "matrix.json"), "w") as f:
        json.dump(summary, f, indent=1)


main()
