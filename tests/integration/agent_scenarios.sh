#!/bin/bash
# Issue 3's scenarios through the agent on the process driver: the shell pool at several levels with
# the breakpoint, the exec rate, and the disk/memory workloads; reports validate.
. "$(dirname "$0")/lib.sh"
sb=$SANDBENCH
[ -n "${SANDBENCH_AGENT:-}" ] || skip "SANDBENCH_AGENT not set"
out="$TMP/r"
$sb run latency-shell-pool throughput-exec-rate throughput-disk-write throughput-disk-read throughput-disk-rand-read resource-mem-touch \
	--runs 4 --warmup 1 --param levels=1,2,4 --param size=4M --param ops=200 --param count=20 --param slots=3 \
	--out "$out" > "$TMP/table.txt" 2> "$TMP/err.txt" && ok "run exit 0" || { fail "run: $(cat "$TMP/err.txt")"; cat "$TMP/table.txt"; }
validate "$out" && ok "reports validate" || fail "schema"
/usr/bin/python3 - "$out" <<'PY' && ok "metrics, breakpoint and tags" || fail "metrics, breakpoint and tags"
import json, pathlib, sys
reps = {json.loads(f.read_text())["scenario"]["name"]: json.loads(f.read_text())
        for f in pathlib.Path(sys.argv[1]).glob("*.json")}
for name, r in reps.items():
    assert r["status"] == "ok", (name, r.get("reason"))
agg = lambda r: {a["metric"]: a for a in r["aggregates"]}
sp = reps["latency-shell-pool"]
a = agg(sp)
for c in (1, 2, 4):
    m = a[f"shell_pool_run_completion_c{c}_ms"]
    assert m["n"] == 4 and m["p50"] > 0 and m["confidence"] == "iteration", m
bp = a["density_max_concurrency_before_p95_doubles"]
assert bp["p50"] in (1, 2, 4) and bp["derived"] and bp["confidence"] == "iteration", bp
assert sp["tags"]["measurement_boundary"] == "command_completion"
assert sp["tags"]["concurrency_levels"] == "1,2,4"
assert float(sp["tags"]["breakpoint_threshold_p95_ms"]) == 2 * float(sp["tags"]["breakpoint_baseline_p95_ms"])
er = agg(reps["throughput-exec-rate"])
assert er["exec_rate_1_slot_per_s"]["p50"] > 0 and er["exec_rate_3_slots_per_s"]["p50"] > 0
assert agg(reps["throughput-disk-write"])["disk_write_mib_per_s"]["p50"] > 0
assert agg(reps["throughput-disk-read"])["disk_read_mib_per_s"]["p50"] > 0
r = agg(reps["throughput-disk-rand-read"])
assert r["disk_rand_read_iops"]["p50"] > 0 and r["disk_rand_read_lat_p99_us"]["p50"] >= r["disk_rand_read_lat_p50_us"]["p50"]
m = agg(reps["resource-mem-touch"])
assert m["mem_touch_rss_mib"]["p50"] >= 4, m["mem_touch_rss_mib"]
PY
dirs=$(/usr/bin/python3 -c 'import json,pathlib,sys; print("\n".join({json.loads(f.read_text())["tags"].get("disk_dir","") for f in pathlib.Path(sys.argv[1]).glob("*.json")} - {""}))' "$out")
[ -n "$dirs" ] && ! ls -d $dirs 2>/dev/null | grep -q . && ok "workload directories removed ($dirs)" || fail "workload directories left: $dirs"
expect_error "bad levels" "parameter levels=1,x" $sb run latency-shell-pool --param levels=1,x --runs 1 --out "$TMP/bad"
finish
