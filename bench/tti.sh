#!/bin/bash
# Benchmark (not a test): latency-tti, time to interactive (asked for -> first command done), on the
# native driver beside a bare spawn (the process driver: posix_spawn of the same static
# `sandbench-agent true`), both in one `sandbench matrix` run so their iterations alternate:
#   sequential: n boxes one after another -> goal: native TTI p50 <= 3 ms
#   burst:      100 boxes at once          -> goal: native TTI p99 <= 150 ms, success rate 100 %
# Prints each figure beside the bare spawn's and the ratio native/bare.
# Usage (as root, under the benchmark lock):
#   flock /tmp/sandbench-bench.lock bash bench/tti.sh [BUILD_DIR] [ITERATIONS] [SEQ_BOXES] [BURST_BOXES]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
iters=${2:-10}
seq_n=${3:-20}
burst_n=${4:-100}
sb=$(readlink -f "$build/src/cli/sandbench")
export SANDBENCH_AGENT=$(readlink -f "$build/src/agent/sandbench-agent")
[ -x "$sb" ] || { echo "build first: meson setup $build && ninja -C $build" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
t0=$(date +%s)
"$sb" matrix --drivers process,native --scenarios latency-tti --runs "$iters" --warmup 2 \
	--param mode=sequential --param n="$seq_n" --out "$tmp/seq" > /dev/null
"$sb" matrix --drivers process,native --scenarios latency-tti --runs "$iters" --warmup 1 \
	--param mode=burst --param n="$burst_n" --out "$tmp/burst" > /dev/null
/usr/bin/python3 - "$tmp" "$iters" "$seq_n" "$burst_n" "$(($(date +%s) - t0))" <<'PY'
import json, pathlib, statistics, sys
tmp, iters, seq_n, burst_n, secs = pathlib.Path(sys.argv[1]), *map(int, sys.argv[2:])
def samples(mode, drv, metric):
    r = json.loads(next((tmp / mode).glob(f"latency-tti--{drv}*.json")).read_text())
    assert r["status"] == "ok", (mode, drv, r.get("reason"))
    return [s["metrics"][metric] for s in r["samples"] if not s.get("warmup") and s["metrics"]]
def row(label, mode, metric, fmt="{:.2f} ms"):
    n, b = samples(mode, "native", metric), samples(mode, "process", metric)
    mn, mb = statistics.median(n), statistics.median(b)
    ratio = f"{mn / mb:6.2f}" if mb > 0 else "     -"
    print(f"{label:<34} native {fmt.format(mn):>11}   bare spawn {fmt.format(mb):>11}   native/bare {ratio}")
    return mn
print(f"latency-tti, {iters} iterations per mode, drivers alternating (sandbench matrix); medians over iterations")
p50 = row(f"sequential ({seq_n} boxes): TTI p50", "seq", "tti_p50_ms")
row(f"sequential ({seq_n} boxes): TTI p99", "seq", "tti_p99_ms")
row(f"burst ({burst_n} at once): TTI p50", "burst", "tti_p50_ms")
p99 = row(f"burst ({burst_n} at once): TTI p99", "burst", "tti_p99_ms")
row(f"burst ({burst_n} at once): first ready", "burst", "first_ready_ms")
row(f"burst ({burst_n} at once): wall", "burst", "wall_ms")
ok = min(samples("burst", "native", "success_rate"))
print(f"burst success rate (worst iteration): native {ok:.2%}, bare spawn {min(samples('burst', 'process', 'success_rate')):.2%}")
print("goal sequential p50 <= 3 ms ->", "MET" if p50 <= 3 else "NOT MET", f"({p50:.2f} ms)")
print(f"goal burst of {burst_n} p99 <= 150 ms at 100 % ->", "MET" if p99 <= 150 and ok == 1 else "NOT MET",
      f"({p99:.1f} ms, {ok:.0%})")
with open("/proc/loadavg") as f:
    print(f"{secs} s; load average at the end {' '.join(f.read().split()[:3])}")
PY
