#!/bin/bash
# Benchmark (not a test): the native driver's density goals (issue 11), measured by the scenarios
# themselves.
#   1. an idle native sandbox costs <= 1 MiB of PSS (resource-idle, median of RUNS runs);
#   2. 1,000 idle native sandboxes are held at once (density-max-sandboxes cap=1000, the p95 stop
#      out of reach), started in under 10 s (start_wall_s: the batches' wall time, the per-box PSS
#      measured between batches left out), with zero failures and nothing left behind (no box init
#      outlives the run, no state under /run/sandbench/native, `doctor` finds nothing, the host's
#      MemAvailable comes back).
# Also prints resource-density-10-idle's two methods side by side. Run it under the bench lock:
#   flock /tmp/sandbench-bench.lock bash bench/density_native.sh [BUILD_DIR] [BOXES] [RUNS]
# Needs root (native boxes) and python3.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
boxes=${2:-1000}
runs=${3:-5}
sb=$build/src/cli/sandbench
[ -x "$sb" ] || { echo "missing $sb: meson setup $build && ninja -C $build" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "needs root (native sandboxes)" >&2; exit 1; }
command -v python3 > /dev/null || { echo "needs python3" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
orphans() { # box inits whose maker is gone
	local p parent
	for p in $(pgrep -x sb-native-init); do
		parent=$(cat "/proc/$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)/comm" 2>/dev/null)
		case $parent in sandbench | sb-native-zyg | "") ;; *) echo "$p" ;; esac
	done | wc -l
}
state_dirs() { ls /run/sandbench/native 2>/dev/null | wc -l; }
avail_mib() { awk '/MemAvailable/ {printf "%.0f", $2 / 1024}' /proc/meminfo; }

"$sb" run resource-idle --driver native --runs "$runs" --warmup 0 --param settle=1 --out "$tmp/idle.json" > /dev/null
"$sb" run resource-density-10-idle --driver native --runs 3 --warmup 0 --out "$tmp/d10.json" > /dev/null
dirs_before=$(state_dirs)
avail_before=$(avail_mib)
t0=$(date +%s%N)
"$sb" run density-max-sandboxes --driver native --runs 1 --warmup 0 --timeout 600 --param cap="$boxes" \
	--param batch=100 --param window="$boxes" --param time_limit=500 --out "$tmp/max.json" > /dev/null
t1=$(date +%s%N)
for _ in $(seq 100); do
	[ "$(orphans)" -eq 0 ] && [ "$(state_dirs)" -le "$dirs_before" ] && break
	sleep 0.1
done
sleep 2 # the kernel frees namespaces in the background
avail_after=$(avail_mib)
doctor=$("$sb" doctor --drivers native 2>&1 | grep -c "0 found" || true)

python3 - "$tmp" "$boxes" "$(orphans)" "$(state_dirs)" "$dirs_before" "$doctor" "$avail_before" "$avail_after" \
	"$(( (t1 - t0) / 1000000 ))" <<'PY'
import json, pathlib, statistics, sys
tmp = pathlib.Path(sys.argv[1])
boxes, orphans, dirs, dirs_before, doctor = (int(x) for x in sys.argv[2:7])
avail_before, avail_after, total_s = int(sys.argv[7]), int(sys.argv[8]), int(sys.argv[9]) / 1000
load = lambda n: json.loads((tmp / n).read_text())
def p50(r):
    return {a["metric"]: a["p50"] for a in r["aggregates"]}
idle, d10, mx = load("idle.json"), load("d10.json"), load("max.json")
for r in (idle, d10, mx):
    if r["status"] != "ok":
        sys.exit(f"{r['scenario']['name']}: {r['status']}: {r.get('reason')}")
i, d, m = p50(idle), p50(d10), p50(mx)
print(f"native idle sandbox (resource-idle, p50 of {len(idle['samples'])}): PSS {i['idle_pss_mib']:.3f} MiB, "
      f"USS {i['idle_uss_mib']:.3f} MiB, RSS {i['idle_rss_mib']:.3f} MiB, {i['idle_fds']:.0f} fds, "
      f"CPU {i['idle_cpu_percent']:.4f} %")
print(f"  counted: {idle['tags']['counted_processes']}")
print(f"ten idle (resource-density-10-idle, p50 of 3): PSS {d['density_pss_per_box_mib']:.3f} MiB/box, "
      f"MemAvailable {d['density_memavail_per_box_mib']:.3f} MiB/box (ratio {d['density_memavail_to_pss_ratio']:.2f}), "
      f"kernel {d['density_kernel_per_box_mib']:.3f} MiB/box")
print(f"density-max-sandboxes cap={boxes}: {m['max_sandboxes']:.0f} held at once (stop: {mx['tags']['stop_reason']}), "
      f"started in {m['start_wall_s']:.2f} s (p95 {m['start_p95_ms']:.2f} ms), {m['start_failures']:.0f} failures, "
      f"PSS {m['pss_per_box_mib']:.3f} MiB/box, MemAvailable {m['memavail_per_box_mib']:.3f} MiB/box; "
      f"whole run {total_s:.1f} s")
print(f"afterwards: {orphans} box init(s) left, state dirs {dirs} (before {dirs_before}), doctor "
      f"{'0 found' if doctor else 'found something'}, MemAvailable {avail_after - avail_before:+d} MiB vs before")
goals = [
    ("idle native sandbox PSS <= 1 MiB", i["idle_pss_mib"] <= 1.0, f"{i['idle_pss_mib']:.3f} MiB"),
    (f"{boxes} idle native sandboxes held at once", m["max_sandboxes"] == boxes, f"{m['max_sandboxes']:.0f}"),
    ("  started in under 10 s", m["start_wall_s"] < 10, f"{m['start_wall_s']:.2f} s"),
    ("  zero failures", m["start_failures"] == 0, f"{m['start_failures']:.0f}"),
    ("  nothing left behind", orphans == 0 and dirs <= dirs_before and doctor > 0, f"{orphans} inits, {dirs - dirs_before} dirs"),
]
print("goals (issue 11)")
for what, met, value in goals:
    print(f"  {what:<42} {value:>16}  {'MET' if met else 'NOT MET'}")
PY
echo "machine: nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)," \
	"loadavg $load_start at start, $(cut -d' ' -f1-3 /proc/loadavg) at end, $(date -u '+%Y-%m-%d %H:%M UTC')"
