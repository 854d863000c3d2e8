#!/bin/bash
# Benchmark (not a test): a shell-pool round trip through a warm agent slot versus spawning the
# same command directly, both on the process driver, in interleaved rounds of one run.
#   pool : latency-shell-pool --param levels=1      (metric shell_pool_run_completion_c1_ms)
#   spawn: latency-exec-output --param via=printf   (metric exec_ms)
# Prints both medians and the ratio pool/spawn. Goal: <= 0.5 (the pool exists to be cheaper).
# Usage: bench/shell_pool_vs_spawn.sh [BUILD_DIR] [RUNS_PER_ROUND] [ROUNDS] [DRIVER]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${2:-200}
rounds=${3:-5}
driver=${4:-process}
sb=$build/src/cli/sandbench
[ -x "$sb" ] || { echo "build first: meson setup $build && ninja -C $build" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
p50() { /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print([a["p50"] for a in r["aggregates"] if a["metric"]==sys.argv[2]][0])' "$1" "$2"; }
pool=() spawn=()
for r in $(seq "$rounds"); do
	"$sb" run latency-shell-pool --driver "$driver" --param levels=1 --runs "$runs" --warmup 20 --out "$tmp/pool-$r.json" >/dev/null
	pool+=("$(p50 "$tmp/pool-$r.json" shell_pool_run_completion_c1_ms)")
	"$sb" run latency-exec-output --driver "$driver" --param via=printf --runs "$runs" --warmup 20 --out "$tmp/spawn-$r.json" >/dev/null
	spawn+=("$(p50 "$tmp/spawn-$r.json" exec_ms)")
done
/usr/bin/python3 - "${pool[*]}" "${spawn[*]}" "$driver" <<'PY'
import statistics, sys
pool = [float(x) for x in sys.argv[1].split()]
spawn = [float(x) for x in sys.argv[2].split()]
ratios = [a / b for a, b in zip(pool, spawn)]
print(f"driver {sys.argv[3]}, rounds: {len(pool)}")
print("pool c1 p50 per round (ms): ", " ".join(f"{x:.4f}" for x in pool))
print("spawn p50 per round (ms):   ", " ".join(f"{x:.4f}" for x in spawn))
print(f"median of rounds: pool {statistics.median(pool):.4f} ms, spawn {statistics.median(spawn):.4f} ms")
print(f"ratio pool/spawn: {statistics.median(ratios):.3f}")
print("goal: <= 0.5 ->", "MET" if statistics.median(ratios) <= 0.5 else "NOT MET")
PY
