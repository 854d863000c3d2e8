#!/bin/bash
# `run` on the process driver end to end: reports written, schema-valid, shown back; exec passthrough.
. "$(dirname "$0")/lib.sh"
sb=$SANDBENCH

out="$TMP/reports"
$sb run --profile quick --runs 5 --warmup 1 --param size=4M --out "$out" > "$TMP/table.txt" 2> "$TMP/err.txt"
rc=$?
[ $rc -eq 0 ] && ok "quick profile exit 0" || { fail "quick profile exit $rc: $(cat "$TMP/err.txt")"; cat "$TMP/table.txt"; }
n=$(ls "$out"/*.json 2>/dev/null | wc -l)
[ "$n" -ge 3 ] && ok "$n reports written" || fail "expected >= 3 reports, got $n"
validate "$out" && ok "reports validate against docs/report.schema.json" || fail "schema validation"
# The agent's C library, as its own `version` names it, in every report's tags.
libc=$("$SANDBENCH_AGENT" version | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["libc"])')
tagged=$(/usr/bin/python3 -c 'import json, pathlib, sys
print(" ".join(sorted({json.loads(f.read_text())["tags"].get("agent_libc", "none") for f in pathlib.Path(sys.argv[1]).glob("*.json")})))' "$out")
case $libc in musl | glibc) [ "$tagged" = "$libc" ] && ok "reports tag agent_libc=$libc" || fail "agent_libc tags: '$tagged', the agent says '$libc'" ;;
*) fail "the agent's version names no libc: '$libc'" ;;
esac
ls "$out" | grep -q '\.tmp\.' && fail "temp files left in $out" || ok "no temp files left"
grep -q 'latency-spawn .*lifecycle_ms' "$TMP/table.txt" && ok "table has lifecycle_ms" || fail "table lacks lifecycle_ms"
grep -q '^  latency-spawn/process [0-9.]* ms (cv [0-9]*%)$' "$TMP/table.txt" && ok "table shows the host reference" || fail "no host reference line: $(cat "$TMP/table.txt")"
/usr/bin/python3 - "$out" <<'PY' && ok "report contents" || fail "report contents"
import json, pathlib, sys
for f in pathlib.Path(sys.argv[1]).glob("*.json"):
    r = json.loads(f.read_text())
    assert list(r)[0] == "schema", f
    assert r["status"] == "ok", (f, r.get("reason"))
    assert len(r["samples"]) == 6 and r["samples"][0]["warmup"] is True, f
    for a in r["aggregates"]:
        assert a["n"] == 5 and a["confidence"] == "iteration", a
        assert a["min"] <= a["p50"] <= a["p90"] <= a["p99"] <= a["max"], a
    # The host reference: timed before every iteration, warmups included, summarised over the rest.
    refs = [x.get("host_ref_ms") for x in r["samples"]]
    assert all(isinstance(v, float) and 0 < v < 1000 for v in refs), (f, refs)
    h = r["host_reference"]
    assert h["command"] == "/bin/true" and h["n"] == 5 and h["p50"] in refs[1:], (f, h)
    if r["scenario"]["name"] == "throughput-stdout":
        rate = [a for a in r["aggregates"] if a["metric"] == "stdout_mib_per_s"][0]
        assert rate["higher_is_better"] and rate["p50"] > 10, rate
        assert r["scenario"]["params"]["size"] == "4M"
PY
$sb show "$out"/*.json | grep -q 'throughput-stdout .*stdout_mib_per_s' && ok "show table" || fail "show table"
$sb show --json "$out"/*.json | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d)>=3 and all(x["status"]=="ok" for x in d)' \
	&& ok "show --json" || fail "show --json"

# --out FILE with one scenario; --json summary on stdout.
$sb run latency-exec-output --runs 3 --out "$TMP/one.json" --json > "$TMP/sum.json" && validate "$TMP/one.json" \
	&& ok "--out FILE" || fail "--out FILE"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d[0]["report"].endswith("one.json")' "$TMP/sum.json" \
	&& ok "--json summary" || fail "--json summary"

# latency-spawn work=SECONDS: the command busy-waits inside the sandbox; a bad value is refused.
if [ -n "${SANDBENCH_AGENT:-}" ]; then
	$sb run latency-spawn --runs 3 --param work=0.005 --out "$TMP/work.json" > /dev/null && /usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
a = {x["metric"]: x for x in r["aggregates"]}
assert r["scenario"]["params"]["work"] == "0.005", r["scenario"]
# wall time at least the busy-wait; CPU time too, but only roughly (others may share the CPU)
assert a["exec_ms"]["min"] >= 5 and a["exec_cpu_ms"]["max"] >= 1, (a["exec_ms"], a["exec_cpu_ms"])
assert "exec_user_ms" not in a and "exec_sys_ms" not in a, sorted(a)
' "$TMP/work.json" && ok "work=0.005 busy-waits 5 ms per lifecycle" || fail "work param: $(head -c 800 "$TMP/work.json")"
	err=$($sb run latency-spawn --runs 1 --param work=-1 --out "$TMP/badwork.json" 2>&1 >/dev/null)
	[ $? -eq 1 ] && case $err in *"parameter work=-1: expected seconds"*) true;; *) false;; esac \
		&& ok "bad work value refused" || fail "bad work: $err"
fi

# --repeat K: K runs of each scenario, each its own report and run id; compare reads them as sessions.
$sb run latency-spawn latency-exec-output --runs 4 --repeat 3 --out "$TMP/rep" > /dev/null && validate "$TMP/rep" \
	&& /usr/bin/python3 -c '
import json, pathlib, sys
rs = [json.loads(f.read_text()) for f in pathlib.Path(sys.argv[1]).glob("*.json")]
by = {}
for r in rs:
    by.setdefault(r["scenario"]["name"], set()).add(r["run"]["id"])
assert len(rs) == 6 and all(len(ids) == 3 for ids in by.values()), by
' "$TMP/rep" && ok "--repeat 3 writes three runs per scenario" || fail "--repeat: $(ls "$TMP/rep")"
$sb compare --json "$TMP/rep" "$TMP/rep" > "$TMP/rep-cmp.json" && /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert all(m["baseline"]["sessions"] == 3 for c in d["comparisons"] for m in c["metrics"]), d
' "$TMP/rep-cmp.json" && ok "compare reads the repeats as 3 sessions" || fail "repeat sessions"
expect_error "--repeat with --out FILE" "names one file but 2 reports will be written" $sb run latency-spawn --repeat 2 --out "$TMP/x.json"
expect_error "--repeat 0" "--repeat 0: expected 1 to 100" $sb run latency-spawn --repeat 0

# --no-host-ref leaves the reference out entirely.
$sb run latency-spawn --runs 2 --no-host-ref --out "$TMP/noref.json" > /dev/null && validate "$TMP/noref.json" \
	&& /usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert "host_reference" not in r and not any("host_ref_ms" in s for s in r["samples"]), r
' "$TMP/noref.json" && ok "--no-host-ref" || fail "--no-host-ref"

# exec passes stdio through and returns the command's exit status.
[ "$(echo piped | $sb exec --driver process -- cat)" = piped ] && ok "exec stdin/stdout" || fail "exec stdio"
$sb exec --driver process -- sh -c 'exit 7'; [ $? -eq 7 ] && ok "exec exit status" || fail "exec exit status"
$sb exec --driver process -- sh -c 'echo to-stderr >&2' 2>&1 >/dev/null | grep -q to-stderr && ok "exec stderr" || fail "exec stderr"
# A hung iteration is killed at --timeout, reported as an error naming what timed out, and the run
# goes on to the next iteration.
if [ -n "${SANDBENCH_AGENT:-}" ]; then
	err=$($sb run throughput-stdout --param size=100G --runs 2 --warmup 0 --timeout 0.5 --out "$TMP/to.json" 2>&1 >/dev/null)
	[ $? -eq 1 ] && ok "timeouts exit 1" || fail "timeouts did not exit 1"
	/usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "error", r["status"]
assert [s["error"] for s in r["samples"]] == ["timed out after 0.5s: '"'"'sandbench-agent stream'"'"' killed at its deadline"] * 2, r["samples"]
' "$TMP/to.json" && ok "both iterations reported as timed out" || fail "timeout report: $(cat "$TMP/to.json" | head -c 600)"
	case $err in *"2 of 2 iterations failed"*) ok "one error line";; *) fail "error line: $err";; esac
	gone "sandbench-agent stream 107374182400" 3 && ok "timed-out agents killed" || fail "agent left running"
fi
# The progress line appears on a terminal (script(1) provides one) and never in a pipe.
if command -v script >/dev/null; then
	script -qc "$sb run latency-spawn --runs 3 --out $TMP/tty.json" /dev/null | tr '\r' '\n' \
		| grep -q 'latency-spawn on process: iteration 3/6' && ok "progress line on a tty" || fail "no progress line on a tty"
fi
[ -z "$($sb run latency-spawn --runs 3 --out "$TMP/pipe.json" 2>&1 >/dev/null)" ] && ok "silent stderr when not a tty" || fail "stderr not silent"
finish
