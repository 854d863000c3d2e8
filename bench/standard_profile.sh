#!/bin/bash
# Benchmark (not a test): the `standard` profile of the whole catalog, one driver after another,
# with the wall time each took (goal, issue 12: under 10 minutes per driver on this 2-core host).
# Prints one line per driver (time, scenarios ok / skipped / failed) and, per scenario, the
# status and the first metric's p50, so the run doubles as the side-by-side table of the docs.
# crun and podman need the host fix for hugetlb off the unified hierarchy; it is applied first.
# Usage (as root, under the benchmark lock):
#   flock /tmp/sandbench-bench.lock bash bench/standard_profile.sh [BUILD_DIR] [DRIVERS] [OUT_DIR]
# DRIVERS is a comma-separated list (default native,bwrap,crun,podman).
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
drivers=${2:-native,bwrap,crun,podman}
out=${3:-$(mktemp -d /tmp/sb-standard.XXXXXX)}
sb=$(readlink -f "$build/src/cli/sandbench")
[ -x "$sb" ] || { echo "build first: meson setup $build && ninja -C $build" >&2; exit 1; }
export SANDBENCH_AGENT=$(readlink -f "$build/src/agent/sandbench-agent")
mkdir -p "$out"
"$sb" doctor --prepare-host --drivers crun > /dev/null 2>&1 || true
echo "standard profile, one driver at a time; reports under $out"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
IFS=, read -ra list <<< "$drivers"
for d in "${list[@]}"; do
	t0=$(date +%s.%N)
	rc=0
	"$sb" run --profile standard --driver "$d" --no-store --out "$out/$d" > "$out/$d.txt" 2> "$out/$d.err" || rc=$?
	t1=$(date +%s.%N)
	/usr/bin/python3 - "$out/$d" "$d" "$t0" "$t1" "$rc" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, pathlib, sys
d, drv, t0, t1, rc, load = pathlib.Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
counts = {"ok": 0, "skip": 0, "error": 0}
for f in sorted(d.glob("*.json")):
    r = json.loads(f.read_text())
    if r.get("schema") != "sandbench.report/v1":
        continue
    st = r["status"]
    counts[st if st in counts else "error"] += 1
secs = t1 - t0
goal = "MET" if secs < 600 else "NOT MET"
print(f"{drv:<8} {secs / 60:6.2f} min  ok {counts['ok']:3d}  skipped {counts['skip']:3d}  failed {counts['error']:3d}"
      f"  exit {rc}  load at end {load}  goal < 10 min: {goal}")
PY
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
