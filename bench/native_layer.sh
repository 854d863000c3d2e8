#!/bin/bash
# Benchmark (not a test): what putting the native driver's writable layer on the host's disk
# (layer=disk) costs a sandbox's start, next to the tmpfs layer (layer=tmpfs), measured in one run
# in interleaved rounds (the order rotating each round) so a noisy machine hits both alike:
#   cold-tmpfs / cold-disk   sandbench run latency-spawn --driver native --param layer=...
#   warm-tmpfs / warm-disk   the same with warm=1 (boxes from the zygote, reset between uses;
#                            latency-spawn writes no file, so a reset keeps the layer)
# Medians pool every non-warmup sample of every round (nearest rank); prints each median, the
# disk/tmpfs ratio, and the load average at the start and end. Run it under
# `flock /tmp/sandbench-bench.lock`.
# Usage: [WARMUP=N] bench/native_layer.sh [BUILD_DIR] [RUNS_PER_ROUND] [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${2:-40}
rounds=${3:-6}
warmup=${WARMUP:-5}
sb=$build/src/cli/sandbench
[ -x "$sb" ] || { echo "missing $sb: meson setup $build && ninja -C $build" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root (warm=1)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

run_variant() { # name round
	local n=$1 r=$2 layer=${1#*-}
	local args=(--driver native --param "layer=$layer" --runs "$runs" --warmup "$warmup" --no-store)
	case $n in
	cold-*) "$sb" run latency-spawn "${args[@]}" --out "$tmp/$n-$r.json" >/dev/null ;;
	warm-*) "$sb" run latency-spawn "${args[@]}" --param warm=1 --out "$tmp/$n-$r.json" >/dev/null ;;
	esac
}

variants=(cold-tmpfs cold-disk warm-tmpfs warm-disk)
for ((r = 0; r < rounds; r++)); do
	for ((i = 0; i < ${#variants[@]}; i++)); do
		run_variant "${variants[$(((i + r) % ${#variants[@]}))]}" "$r"
	done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$tmp" "$load_start" "$load_end" "$(df -T /var/tmp | awk 'NR==2{print $2}')" <<'PY'
import glob, json, math, os, sys

tmp, load_start, load_end, fs = sys.argv[1:5]

def p50(xs):
    xs = sorted(xs)
    return xs[max(0, math.ceil(len(xs) * 0.5) - 1)] if xs else float("nan")

def samples(prefix, metric):
    out = []
    for f in sorted(glob.glob(os.path.join(tmp, prefix + "-*.json"))):
        for s in json.load(open(f))["samples"]:
            if not s.get("warmup") and metric in s["metrics"]:
                out.append(s["metrics"][metric])
    return out

print(f"native writable layer: tmpfs vs disk (/var/tmp is {fs}); medians over every round, ms")
print(f"{'variant':<8} {'metric':<14} {'tmpfs':>9} {'disk':>9} {'disk/tmpfs':>11}   n")
for kind in ("cold", "warm"):
    for metric in ("create_ms", "lifecycle_ms", "destroy_ms"):
        a, b = samples(kind + "-tmpfs", metric), samples(kind + "-disk", metric)
        ratio = p50(b) / p50(a) if a and b and p50(a) > 0 else float("nan")
        print(f"{kind:<8} {metric:<14} {p50(a):9.3f} {p50(b):9.3f} {ratio:11.2f}   {len(a)}/{len(b)}")
print(f"load average: start {load_start}, end {load_end}")
PY
