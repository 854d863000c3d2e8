#!/bin/bash
# Benchmark (not a test): what live metrics cost (issue 15's goals), measured by sbm-bench:
#   write     one sb_reg_write of a sample into a registry slot          goal < 1 us
#   snapshot  one reader snapshot of a 1,024-slot registry whose slots    goal < 100 us
#             another process holds (idle, and while it rewrites them)
#   sampler   the sampler thread's CPU with N sandboxes at 1 Hz            goal < 0.5 % of a core
#             three ways: a stats op returning constants (the sampler and registry alone), native
#             sandboxes as they come (no cgroups without limits: the driver walks the tree of the
#             box init's descendants), and native with cgroups=1
# Prints the figures, MET / NOT MET against each goal, then the machine. The sampler part needs
# root and a usable native driver (it is left out, with the reason, otherwise).
# Run it under the bench lock: flock /tmp/sandbench-bench.lock bash bench/metrics_registry.sh
# With BEFORE=OLDER_BUILD_DIR, that build's sampler on native runs right after each of ours
# (lines prefixed before_), for a before/after in one run.
# Usage: [BEFORE=DIR] bench/metrics_registry.sh [BUILD_DIR] [SANDBOXES] [SECONDS]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
boxes=${2:-100}
secs=${3:-10}
sb=$build/src/cli/sandbench
bench=$build/tests/metrics/sbm-bench
for f in "$sb" "$bench"; do
	[ -x "$f" ] || { echo "missing $f: meson setup $build && ninja -C $build" >&2; exit 1; }
done
tmp=$(mktemp -d /dev/shm/sbm-bench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

"$bench" write "$tmp" | tee "$tmp/out"
"$bench" snapshot "$tmp" | tee -a "$tmp/out"
"$bench" sampler-fake "$boxes" "$secs" | tee -a "$tmp/out"
if [ "$(id -u)" -ne 0 ]; then
	echo "sampler on native: left out (needs root for native sandboxes)"
else
	rootfs=$("$sb" image build | tail -n 1)
	for params in "" cgroups=1; do
		rc=0
		# shellcheck disable=SC2086
		SBM_BENCH_DIR=$tmp "$bench" sampler "$rootfs" "$boxes" "$secs" $params | tee -a "$tmp/out" || rc=$?
		[ "$rc" -eq 0 ] || echo "sampler on native $params: left out (sbm-bench exit $rc)"
		# An older build's sampler on the same boxes' configuration, right after (before/after).
		if [ -n "${BEFORE:-}" ]; then
			# shellcheck disable=SC2086
			SBM_BENCH_DIR=$tmp "$BEFORE/tests/metrics/sbm-bench" sampler "$rootfs" "$boxes" "$secs" $params |
				sed 's/^/before_/' || echo "before: sampler on native $params: left out"
		fi
	done
fi

verdict() { # NAME GOAL: MET when the figure NAME is below GOAL
	local v
	v=$(awk -v n="$1" '$1 == n {print $2}' "$tmp/out")
	[ -n "$v" ] || return 0
	if awk -v v="$v" -v g="$2" 'BEGIN {exit !(v < g)}'; then
		echo "$1 = $v (goal < $2): MET"
	else
		echo "$1 = $v (goal < $2): NOT MET"
	fi
}
echo
verdict write_ns_per_sample 1000
verdict snapshot_1024_us_idle 100
verdict snapshot_1024_us_busy_writer 100
verdict sampler_fake_cpu_percent_of_core 0.5
verdict sampler_native_cpu_percent_of_core 0.5
verdict sampler_native_cgroups_cpu_percent_of_core 0.5
echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), kernel $(uname -r)"
echo "load average before: $load_start, after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
