#!/bin/bash
# The qemu microVM driver beside the native driver's cold start, in one run (run it under the
# bench lock: flock /tmp/sandbench-bench.lock bash bench/qemu_boot.sh [N] [HUNG]):
#   native latency-spawn lifecycle p50 (create + exec + destroy of a container-like sandbox);
#   qemu boot-to-first-exec p50 and snapshot-restore-to-first-exec p50 over N (default 10);
#   idle host RSS/PSS of one 128 MiB guest; HUNG (default 0; 200 for the goal) boots in a loop,
#   counting those that never answer.
# Goals under TCG with the minimal kernel: boot < 600 ms, restore < 300 ms, RSS < 100 MiB,
# zero hung boots in 200. Needs a build in ./build (or $BUILD) and the minimal kernel.
set -eu
n=${1:-10}
hung=${2:-0}
build=${BUILD:-build}
sb=$build/src/cli/sandbench
export SANDBENCH_AGENT=${SANDBENCH_AGENT:-$PWD/$build/src/agent/sandbench-agent}
tmp=$(mktemp -d /tmp/sb-qemu-bench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(qemu-system-x86_64 -version | head -1)"
$sb run latency-spawn --driver native --runs "$n" --warmup 2 --out "$tmp/native.json" > /dev/null
native=$(/usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(next(a["p50"] for a in r["aggregates"] if a["metric"] == "lifecycle_ms"))' "$tmp/native.json")
QEMU_ACCEL=${QEMU_ACCEL:-tcg} "$build/tests/conformance/qemu_ops" bench "$n" "$hung" | tee "$tmp/qemu.txt"
boot=$(awk '/^boot_to_first_exec_p50_ms/ {print $2}' "$tmp/qemu.txt")
rest=$(awk '/^restore_to_first_exec_p50_ms/ {print $2}' "$tmp/qemu.txt")
rss=$(awk '/^idle_rss_mib/ {print $2}' "$tmp/qemu.txt")
printf '%-40s %10s\n' "native cold start (lifecycle p50)" "$native ms"
printf '%-40s %10s  (goal < 600 ms; %.0fx native)\n' "qemu boot to first exec p50" "$boot ms" "$(echo "$boot / $native" | bc -l)"
printf '%-40s %10s  (goal < 300 ms)\n' "qemu snapshot-restore to first exec p50" "$rest ms"
printf '%-40s %10s  (goal < 100 MiB)\n' "qemu idle host RSS, 128 MiB guest" "$rss MiB"
