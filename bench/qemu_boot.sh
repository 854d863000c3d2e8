#!/bin/bash
# The qemu microVM driver beside the native driver's cold start, in one run (run it under the
# bench lock: flock /tmp/sandbench-bench.lock bash bench/qemu_boot.sh [N] [HUNG]):
#   native latency-spawn lifecycle p50 (create + exec + destroy of a container-like sandbox);
#   qemu boot-to-first-exec p50 with its phases (host: to the first console byte, to the agent's
#   answer, first exec; guest clock: kernel, /init) and QEMU's CPU time by the first exec (the
#   boot's work, which a loaded host does not stretch), snapshot-restore-to-first-exec p50 over N
#   (default 10); idle host RSS/PSS of one 128 MiB guest; HUNG (default 0; 200 for the goal)
#   boots in a loop, counting those that never answer. QEMU_PARAMS="k=v;k=v" adds driver
#   parameters (e.g. "tb_size=0;hugepages=on" for QEMU's own defaults).
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
rc=0
QEMU_ACCEL=${QEMU_ACCEL:-tcg} "$build/tests/conformance/qemu_ops" bench "$n" "$hung" | tee "$tmp/qemu.txt" || rc=$?
fig() { awk -v k="$1" '$1 == k {print $2}' "$tmp/qemu.txt"; }
boot=$(fig boot_to_first_exec_p50_ms)
echo "# load after $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %10s\n' "native cold start (lifecycle p50)" "$native ms"
printf '%-44s %10s  (goal < 600 ms; %.0fx native)\n' "qemu boot to first exec p50" "$boot ms" "$(echo "$boot / $native" | bc -l)"
printf '%-44s %10s\n' "  to the first console byte (host)" "$(fig to_console_p50_ms) ms"
printf '%-44s %10s\n' "  kernel to /init (guest clock)" "$(fig kernel_guest_p50_ms) ms"
printf '%-44s %10s\n' "  /init to serving (guest clock)" "$(fig init_guest_p50_ms) ms"
printf '%-44s %10s\n' "  to the agent's answer (host)" "$(fig to_ready_p50_ms) ms"
printf '%-44s %10s\n' "  then the first exec (host)" "$(fig first_exec_p50_ms) ms"
printf '%-44s %10s\n' "  QEMU CPU time by the first exec" "$(fig qemu_cpu_at_first_exec_p50_ms) ms"
printf '%-44s %10s  (goal < 300 ms)\n' "qemu snapshot-restore to first exec p50" "$(fig restore_to_first_exec_p50_ms) ms"
printf '%-44s %10s  (goal < 100 MiB; PSS %s MiB)\n' "qemu idle host RSS, 128 MiB guest" "$(fig idle_rss_mib) MiB" "$(fig idle_pss_mib)"
if [ "$hung" -gt 0 ]; then
	grep '^hung_boots' "$tmp/qemu.txt"
	printf '%-44s %10s  (p90 %s ms)\n' "qemu boot to first exec p50 over the loop" "$(fig loop_boot_to_first_exec_p50_ms) ms" \
		"$(fig loop_boot_to_first_exec_p90_ms)"
fi
exit $rc
