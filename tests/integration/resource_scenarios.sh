#!/bin/bash
# The resource and density axes (issue 11) with small parameters: on the process driver (the floor:
# CPU overhead ratio ~1, nothing kept alive, skips where a capability is missing) and, as root, on
# native: idle footprint, CPU load, a memory limit that holds, stats polling, disk footprint, the
# two density methods side by side (they agree within a factor of 3 once the kernel memory PSS
# cannot see is added), parallel starts, the breakpoint, and density-max stopping at its cap with
# nothing left behind. Reports validate against the schema.
. "$(dirname "$0")/lib.sh"
sb=$SANDBENCH
[ -n "${SANDBENCH_AGENT:-}" ] || skip "SANDBENCH_AGENT not set"

# check DIR 'python over reps (name -> report) and agg(report) -> {metric: aggregate}'
check() {
	local dir=$1 code=$2
	/usr/bin/python3 - "$dir" "$code" <<'PY'
import json, pathlib, sys
reps = {}
p = pathlib.Path(sys.argv[1])
for f in (sorted(p.glob("*.json")) if p.is_dir() else [p]):
    r = json.loads(f.read_text())
    reps[r["scenario"]["name"]] = r
agg = lambda r: {a["metric"]: a for a in r["aggregates"]}
p50 = lambda r: {a["metric"]: a["p50"] for a in r["aggregates"]}
exec(sys.argv[2])
PY
}

# ---- process: what is meaningful without a sandbox ----
out=$TMP/proc
$sb run resource-cpu-load resource-multi-cpu-load resource-disk-footprint density-parallel-10 density-breakpoint \
	density-max-sandboxes resource-idle resource-mem-pressure resource-stats-poll --driver process \
	--runs 2 --warmup 0 --param seconds=0.3 --param boxes=3 --param idle_window=0.2 --param levels=1,2,4 \
	--param cap=7 --param batch=3 --param window=7 --keep-series --out "$out" > "$TMP/proc.out" 2>&1 &&
	ok "process: run exit 0" || fail "process run: $(tail -c 800 "$TMP/proc.out")"
validate "$out" > /dev/null && ok "process: reports validate" || fail "process: reports invalid"
check "$out" '
for n in ("resource-cpu-load", "resource-multi-cpu-load"):
    r = reps[n]
    assert r["status"] == "ok", (n, r.get("reason"))
    a = p50(r)
    # a bare process: the host CPU is the burn itself (tick-resolution children, a loaded host)
    assert 0.5 <= a["cpu_overhead_ratio"] <= 2, (n, a)
    assert a["host_cpu_s_per_s"] > 0 and a["inbox_cpu_share"] > 0, (n, a)
    assert "exec-client" in r["tags"]["counted_processes"], r["tags"]
import os
assert reps["resource-multi-cpu-load"]["tags"]["burners"] == str(os.cpu_count()), reps["resource-multi-cpu-load"]["tags"]
d = p50(reps["resource-disk-footprint"])
assert set(d) == {"disk_kib_per_box", "tmpfs_kib_per_box", "disk_idle_drift_kib"}, d
par = agg(reps["density-parallel-10"])
assert par["parallel_failures"]["max"] == 0 and par["parallel_box_max_ms"]["p50"] >= par["parallel_box_mean_ms"]["p50"], par
bp = agg(reps["density-breakpoint"])
assert bp["density_max_concurrency_before_p95_doubles"]["derived"], bp
assert all(f"shell_pool_run_completion_c{c}_ms" in bp for c in (1, 2, 4)), sorted(bp)
m = reps["density-max-sandboxes"]
assert m["status"] == "ok" and p50(m)["max_sandboxes"] == 7 and m["tags"]["stop_reason"] == "cap", (p50(m), m["tags"])
names = {s["name"] for s in m["series"]}
assert {"start_ms", "box_pss_mib", "mem_available_drop_mib"} <= names, names
assert all(len(s["points"]) == 7 for s in m["series"] if s["name"] == "start_ms"), m["series"]
for n, cap in (("resource-idle", "pids"), ("resource-mem-pressure", "memlimit"), ("resource-stats-poll", "stats")):
    r = reps[n]
    assert r["status"] == "skip" and cap in r["reason"], (n, r["status"], r.get("reason"))
' && ok "process: overhead ratio ~1, disk, parallel, breakpoint, density-max at its cap, skips" ||
	fail "process: checks"
expect_error "bad seconds" "parameter seconds=x" $sb run resource-cpu-load --param seconds=x --runs 1 --out "$TMP/bad.json"

# ---- native (root) ----
[ "$(id -u)" -eq 0 ] || { echo "SKIP native part: needs root"; finish; }
if ! why=$($sb exec --driver native -- true 2>&1); then
	echo "SKIP native part: $why"
	finish
fi
expect_error "bad limit order" "expected under < limit < over" \
	$sb run resource-mem-pressure --driver native --param limit=64M --param under=128M --runs 1 --out "$TMP/bad2.json"
# Box inits nobody owns any more: an init's parent is the sandbench that made it (or its zygote);
# other users' live boxes are left out, a box that outlived its run is not.
leftovers() {
	local p parent
	for p in $(pgrep -x sb-native-init); do
		parent=$(cat "/proc/$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)/comm" 2>/dev/null)
		case $parent in sandbench | sb-native-zyg | "") ;; *) echo "orphaned init $p (parent $parent)" ;; esac
	done
}
out=$TMP/native
$sb run resource-idle resource-cpu-load resource-multi-cpu-load resource-mem-pressure resource-stats-poll \
	resource-disk-footprint density-parallel-10 density-breakpoint --driver native --runs 2 --warmup 0 \
	--param settle=0.3 --param seconds=0.5 --param limit=64M --param under=32M --param over=128M \
	--param boxes=3 --param calls=3 --param idle_window=0.2 --param levels=1,2,4 --out "$out" > "$TMP/nat.out" 2>&1 &&
	ok "native: run exit 0" || fail "native run: $(tail -c 800 "$TMP/nat.out")"
validate "$out" > /dev/null && ok "native: reports validate" || fail "native: reports invalid"
check "$out" '
for n, r in reps.items():
    assert r["status"] == "ok", (n, r.get("reason"))
i = p50(reps["resource-idle"])
assert 0 < i["idle_pss_mib"] < 16 and i["idle_uss_mib"] <= i["idle_pss_mib"] <= i["idle_rss_mib"], i
assert i["idle_processes"] >= 1 and i["idle_fds"] >= 1 and i["idle_cpu_percent"] >= 0, i
assert i["idle_box_pss_mib"] + i["idle_helper_pss_mib"] + i["idle_daemon_pss_mib"] - i["idle_pss_mib"] < 1e-6, i
assert "sb-native-init" in reps["resource-idle"]["tags"]["counted_processes"], reps["resource-idle"]["tags"]
c = p50(reps["resource-cpu-load"])
assert 0.5 <= c["cpu_overhead_ratio"] <= 2, c
m = p50(reps["resource-mem-pressure"])
assert m["mem_under_limit_ok"] == 1 and m["mem_limit_held"] == 1 and m["mem_usable_after"] == 1, m
assert m["mem_over_exit_status"] != 0 and 0 < m["mem_peak_mib"] <= 64.5, m
s = p50(reps["resource-stats-poll"])
assert 0 < s["stats_call_us"] <= s["stats_call_max_us"], s
assert p50(reps["density-parallel-10"])["parallel_failures"] == 0
' && ok "native: idle footprint, CPU overhead, the memory limit holds, stats poll, parallel starts" ||
	fail "native: checks"

# The two density methods. MemAvailable moves with everything else on the host, so many boxes and
# the median of three runs; a second attempt when other work swamped the first.
density_ok=false
for attempt in 1 2; do
	# birth=0: boxes cloned by sandbench itself, the configuration this agreement was established
	# on. Cloned by the birth helper a box's PSS halves (0.26 -> 0.12 MiB) while the kernel share
	# stays ~0.4 MiB, and MemAvailable / (PSS + kernel) fell to 0.28-0.35: the kernel share counts
	# memory MemAvailable itself calls available (reclaimable slab?), open in docs/resource.md.
	if ! $sb run resource-density-10-idle --driver native --runs 3 --warmup 0 --param boxes=200 --param settle=1 \
		--param birth=0 --out "$TMP/dens-$attempt.json" > "$TMP/dens.out" 2>&1; then
		echo "  attempt $attempt: $(grep -m1 'sandbench: error' "$TMP/dens.out")"
		continue
	fi
	if check "$TMP/dens-$attempt.json" '
import statistics
r = reps["resource-density-10-idle"]
assert r["status"] == "ok", r.get("reason")
pss = [s["metrics"]["density_pss_per_box_mib"] for s in r["samples"]]
ratio = [s["metrics"]["density_memavail_per_box_mib"] /
         (s["metrics"]["density_pss_per_box_mib"] + s["metrics"]["density_kernel_per_box_mib"]) for s in r["samples"]]
print("  PSS per box", [round(x, 3) for x in pss], "MiB; MemAvailable / (PSS + kernel)", [round(x, 2) for x in ratio])
assert all(0 < x < 16 for x in pss), pss
assert 1 / 3 <= statistics.median(ratio) <= 3, ratio
assert r["tags"]["drop_caches"] == "dropped before and after", r["tags"]
'; then
		density_ok=true
		break
	fi
done
$density_ok && ok "native: MemAvailable and PSS (+ the kernel memory it cannot see) agree within 3x" ||
	fail "native: the two density methods disagree"

$sb run density-max-sandboxes --driver native --runs 1 --param cap=20 --param batch=5 --param window=20 \
	--out "$TMP/max.json" > "$TMP/max.out" 2>&1 || fail "density-max: $(tail -c 600 "$TMP/max.out")"
check "$TMP/max.json" '
r = reps["density-max-sandboxes"]
assert r["status"] == "ok", r.get("reason")
a = p50(r)
assert a["max_sandboxes"] == 20 and a["start_failures"] == 0 and r["tags"]["stop_reason"] == "cap", (a, r["tags"])
assert 0 < a["pss_per_box_mib"] < 16, a
' && ok "native: density-max stops at its cap" || fail "density-max: checks"
for _ in $(seq 50); do
	[ -z "$(leftovers)" ] && break
	sleep 0.1
done
[ -z "$(leftovers)" ] && ok "native: no box outlived its run" || fail "left behind: $(leftovers)"
$sb doctor --drivers native 2>&1 | grep -q "0 found" && ok "doctor: 0 found (no state of a dead run)" ||
	fail "doctor finds leftovers"
finish
