#!/bin/bash
# gVisor and systemd-nspawn beside crun and native, in one run (docs/benchmarks.md):
#   bench/runsc_nspawn.sh [BUILD] [RUNS] [ROUNDS]
#  1. the quick profile as one `sandbench matrix` over native, crun, runsc and nspawn (iterations
#     interleaved across the drivers), RUNS iterations per cell;
#  2. runsc's snapshot and restore beside its own cold start: ROUNDS rounds of
#     tests/conformance/snapshot_restore (cold create+start, checkpoint+resume of the same box,
#     restore into a new box, restore to the first command's output), medians printed.
# crun needs the hybrid-cgroup host fix here; it is applied for the run through
# `sandbench doctor --prepare-host --drivers crun` only when nobody applied it before, and undone
# afterwards. Run it under the bench lock: flock /tmp/sandbench-bench.lock bash bench/runsc_nspawn.sh
set -u
build=${1:-build}
runs=${2:-10}
rounds=${3:-10}
sb=$build/src/cli/sandbench
tool=$build/tests/conformance/snapshot_restore
export SANDBENCH_AGENT=${SANDBENCH_AGENT:-$PWD/$build/src/agent/sandbench-agent}
[ -x "$sb" ] && [ -x "$tool" ] || { echo "runsc_nspawn.sh: build $build first (ninja -C $build)" >&2; exit 1; }
out=$(mktemp -d /tmp/sb-bench-runsc-XXXXXX)
fixed=
cleanup() {
	[ -n "$fixed" ] && $sb doctor --restore-host --drivers crun | sed 's/^/  | /'
	rm -rf "$out"
}
trap cleanup EXIT
if [ ! -e /run/sandbench/hostfix/crun-cgroup ] && ! $sb exec --driver crun -- true > /dev/null 2>&1; then
	echo "applying crun's host fix for this run (undone at the end):"
	$sb doctor --prepare-host --drivers crun | sed 's/^/  | /' && fixed=1
fi

echo "== the quick profile, native / crun / runsc / nspawn in one matrix ($runs runs per cell)"
$sb matrix --drivers native,crun,runsc,nspawn --scenarios quick --runs "$runs" --warmup 1 --out "$out/matrix"

echo
echo "== runsc: cold start vs snapshot and restore ($rounds rounds)"
"$tool" runsc "$rounds" > "$out/snap.jsonl" || { echo "snapshot_restore failed" >&2; exit 1; }
/usr/bin/python3 - "$out/snap.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
keys = [("cold_start_ms", "cold start (create+start)"), ("snapshot_ms", "snapshot (checkpoint + resume)"),
        ("restore_ms", "restore into a new box"), ("restore_to_exec_ms", "restore to first output")]
cold = statistics.median(r["cold_start_ms"] for r in rows)
for k, label in keys:
    v = sorted(r[k] for r in rows)
    med = statistics.median(v)
    print(f"{label:32s} p50 {med:8.1f} ms  min {v[0]:8.1f}  max {v[-1]:8.1f}  x{med / cold:.2f} of cold start")
PY
