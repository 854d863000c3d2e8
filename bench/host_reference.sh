#!/bin/bash
# Benchmark (not a test): how much of the run-to-run drift the host reference removes. RUNS
# identical latency-spawn runs (30 iterations) per driver, back to back; each is compared with the
# first by `sandbench compare`, with and without host normalisation, and the spread (SD of the log)
# of the per-run p50 is printed for each time metric side by side, with their ratio.
# Usage: bench/host_reference.sh [BUILD_DIR] [RUNS]
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${2:-20}
sb=$(readlink -f "$build/src/cli/sandbench")
[ -x "$sb" ] || { echo "build first: meson setup $build && ninja -C $build" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

drivers=process
"$sb" drivers 2>/dev/null | grep -Eq '^native +yes' && drivers="process native"
for d in $drivers; do
	for i in $(seq "$runs"); do
		"$sb" run latency-spawn --driver "$d" --runs 30 --out "$tmp/$d-$i.json" >/dev/null 2>&1
	done
	for i in $(seq 2 "$runs"); do
		"$sb" compare --json --normalize none "$tmp/$d-1.json" "$tmp/$d-$i.json" > "$tmp/$d-raw-$i.cmp" 2>/dev/null
		"$sb" compare --json "$tmp/$d-1.json" "$tmp/$d-$i.json" > "$tmp/$d-norm-$i.cmp" 2>/dev/null
	done
done

/usr/bin/python3 - "$tmp" "$runs" "$drivers" "$(uptime | sed 's/.*load average: //')" <<'PY'
import glob, json, math, statistics, sys
tmp, runs, drivers, load = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4]
print(f"{'driver':8} {'metric':14} {'raw spread':>10} {'normalised':>10} {'ratio':>6}   (SD of log p50 over {runs} runs)")
for d in drivers:
    for metric in ("lifecycle_ms", "create_ms", "exec_ms", "destroy_ms"):
        spread = {}
        for kind in ("raw", "norm"):
            vals = []
            for f in sorted(glob.glob(f"{tmp}/{d}-{kind}-*.cmp")):
                m = [x for x in json.load(open(f))["comparisons"][0]["metrics"] if x["metric"] == metric]
                if m and m[0]["current"]["value"] and m[0]["current"]["value"] > 0:
                    if not vals:
                        vals.append(m[0]["baseline"]["value"])
                    vals.append(m[0]["current"]["value"])
            spread[kind] = statistics.stdev(math.log(v) for v in vals) if len(vals) > 2 else float("nan")
        r, n = spread["raw"], spread["norm"]
        print(f"{d:8} {metric:14} {r * 100:9.1f}% {n * 100:9.1f}% {n / r if r else float('nan'):6.2f}")
print(f"load average at the end: {load}")
PY
