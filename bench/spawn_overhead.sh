#!/bin/bash
# Benchmark (not a test): sandbench's own overhead when timing a spawn, against hyperfine.
# Spawns the same static no-op (sandbench-agent true) with `sandbench run latency-spawn` on the
# process driver and with `hyperfine -N`, interleaved in rounds in one run, and prints both medians
# and the ratio sandbench/hyperfine. Goal: ratio <= 1.0.
# Usage: bench/spawn_overhead.sh [BUILD_DIR] [RUNS_PER_ROUND] [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${2:-300}
rounds=${3:-5}
sb=$build/src/cli/sandbench
agent=$(readlink -f "$build/src/agent/sandbench-agent")
[ -x "$sb" ] && [ -x "$agent" ] || { echo "build first: meson setup $build && ninja -C $build" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "hyperfine is missing (apt-get install hyperfine)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sb_medians=() hf_medians=()
for r in $(seq "$rounds"); do
	SANDBENCH_AGENT=$agent "$sb" run latency-spawn --driver process --runs "$runs" --warmup 20 \
		--out "$tmp/sb-$r.json" --json > /dev/null
	sb_medians+=("$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print([a["p50"] for a in r["aggregates"] if a["metric"]=="exec_ms"][0])' "$tmp/sb-$r.json")")
	hyperfine -N --runs "$runs" --warmup 20 --export-json "$tmp/hf-$r.json" "$agent true" > /dev/null 2>&1
	hf_medians+=("$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"]*1000)' "$tmp/hf-$r.json")")
done
/usr/bin/python3 - "${sb_medians[*]}" "${hf_medians[*]}" <<'PY'
import statistics, sys
sb = [float(x) for x in sys.argv[1].split()]
hf = [float(x) for x in sys.argv[2].split()]
ratios = [a / b for a, b in zip(sb, hf)]
print(f"rounds: {len(sb)}")
print("sandbench latency-spawn exec_ms p50 per round (ms):", " ".join(f"{x:.4f}" for x in sb))
print("hyperfine -N median per round (ms):             ", " ".join(f"{x:.4f}" for x in hf))
print(f"median of rounds: sandbench {statistics.median(sb):.4f} ms, hyperfine {statistics.median(hf):.4f} ms")
print(f"ratio sandbench/hyperfine: {statistics.median(ratios):.3f} (per round: {' '.join(f'{r:.3f}' for r in ratios)})")
print("goal: <= 1.0 ->", "MET" if statistics.median(ratios) <= 1.0 else "NOT MET")
PY
