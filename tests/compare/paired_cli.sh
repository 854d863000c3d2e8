#!/bin/bash
# `paired`: sleep 0.01 vs sleep 0.02 is a regression; two identical commands are not in at least
# 19 of 20 repeats; the document validates; errors, timeouts and sequential looks; driver mode.
. "$SRCDIR/tests/integration/lib.sh"
sb=$SANDBENCH
vjson() { /usr/bin/python3 "$SRCDIR/tests/tools/validate_json.py" "$SRCDIR/docs/paired.schema.json" "$1" >/dev/null; }
run_rc() {
	local want=$1 what=$2; shift 2
	"$@" > "$TMP/out" 2> "$TMP/err"; local rc=$?
	[ "$rc" -eq "$want" ] && ok "$what (exit $rc)" || { fail "$what: exit $rc, expected $want"; cat "$TMP/out" "$TMP/err"; }
}

run_rc 2 "sleep 0.01 vs sleep 0.02 is a regression" \
	$sb paired --baseline-cmd 'sleep 0.01' --current-cmd 'sleep 0.02' --pairs 20 --out "$TMP/p.json"
grep -q '^verdict: regression' "$TMP/out" && grep -q '^  wall_ms \* ' "$TMP/out" && ok "table" || fail "table: $(cat "$TMP/out")"
grep -q '^  wall_ms: per-pair noise ±[0-9]*%; 20 pairs resolve ±[0-9.]*%; a 10% change needs ~[0-9]* pairs (80% power)$' "$TMP/out" \
	&& ok "table states what the pairs resolve" || fail "sensitivity line: $(cat "$TMP/out")"
vjson "$TMP/p.json" && ok "paired JSON validates against docs/paired.schema.json" || fail "paired JSON invalid"
/usr/bin/python3 - "$TMP/p.json" <<'PY' && ok "paired document contents" || fail "paired document contents"
import json, sys
d = json.load(open(sys.argv[1]))
assert list(d)[0] == "schema" and d["schema"] == "sandbench.paired/v1" and d["mode"] == "command"
assert d["baseline"]["argv"] == ["sleep", "0.01"] and not d["baseline"]["shell"]
pairs = d["pairs"]
assert len(pairs) == 22 and sum(p["warmup"] for p in pairs) == 2, len(pairs)
assert [p["order"] for p in pairs[:4]] == ["AB", "BA", "AB", "BA"]
for p in pairs:
    for side in ("baseline", "current"):
        r = p[side]
        assert r["exit_code"] == 0 and not r["timed_out"] and set(r["metrics"]) == {"wall_ms", "cpu_ms", "user_ms", "sys_ms", "maxrss_kb"}
# A scheduling hiccup may invert a pair on a busy host; the analysis must still see the 2x.
slower = sum(p["current"]["metrics"]["wall_ms"] > p["baseline"]["metrics"]["wall_ms"] for p in pairs)
assert slower >= 18, slower
a = {x["metric"]: x for x in d["analysis"]}
w = a["wall_ms"]
assert w["gated"] and w["verdict"] == "regression" and w["n"] == 20 and w["scale"] == "log_ratio"
assert 0.5 < w["change"] < 1.2, w["change"]
assert w["change_ci"][0] <= w["change"] <= w["change_ci"][1]
assert w["paired_t"]["df"] == 19 and w["wilcoxon"]["p"] < 0.05
assert d["sequential"]["looks_taken"] == 1 and d["verdict"] == "regression"
PY

# Two identical commands: no regression in at least 19 of 20 repeats.
flagged=0
for i in $(seq 1 20); do
	$sb paired --baseline-cmd 'sleep 0.005' --current-cmd 'sleep 0.005' --pairs 8 --warmup 1 > "$TMP/same.txt" 2>&1
	rc=$?
	[ "$rc" -eq 2 ] && flagged=$((flagged + 1))
	[ "$rc" -ne 0 ] && [ "$rc" -ne 2 ] && { fail "identical repeat $i: exit $rc"; cat "$TMP/same.txt"; }
done
[ "$flagged" -le 1 ] && ok "identical commands flagged $flagged/20 times" || fail "identical commands flagged $flagged/20 times"

# --fail-on-regression: the CI must lie beyond PCT.
run_rc 2 "--fail-on-regression 20" $sb paired --baseline-cmd 'sleep 0.01' --current-cmd 'sleep 0.02' --pairs 16 --fail-on-regression 20
run_rc 0 "--fail-on-regression 300 does not fail" $sb paired --baseline-cmd 'sleep 0.01' --current-cmd 'sleep 0.02' --pairs 8 --fail-on-regression 300

# Sequential looks on identical commands: every look taken, the count recorded.
run_rc 0 "--require-significance --max-retries 2" $sb paired --baseline-cmd 'sleep 0.002' --current-cmd 'sleep 0.002' \
	--pairs 6 --warmup 0 --require-significance --max-retries 2 --json
cp "$TMP/out" "$TMP/seq.json"
vjson "$TMP/seq.json" && ok "sequential JSON validates" || fail "sequential JSON invalid"
/usr/bin/python3 - "$TMP/seq.json" <<'PY' && ok "looks recorded" || fail "looks recorded: $(jq -c .sequential "$TMP/seq.json")"
import json, sys
s = json.load(open(sys.argv[1]))["sequential"]
assert s["looks_planned"] == 3 and abs(s["alpha_per_look"] - 0.05 / 3) < 1e-9
assert 1 <= s["looks_taken"] <= 3 and len(s["pairs_at_look"]) == s["looks_taken"]
assert s["pairs_at_look"][0] == 6 and all(b > a for a, b in zip(s["pairs_at_look"], s["pairs_at_look"][1:]))
PY

# Shell syntax runs under /bin/sh; --markdown; --metric.
run_rc 0 "shell command, markdown, --metric" $sb paired --baseline-cmd 'echo a | cat >/dev/null' \
	--current-cmd 'echo a | cat >/dev/null' --pairs 6 --metric 'wall_*' --metric maxrss_kb --markdown
grep -q '^### sandbench paired: ' "$TMP/out" && grep -q '^| wall_ms \* |' "$TMP/out" && grep -q '^| maxrss_kb \* |' "$TMP/out" \
	&& ok "markdown with two gated metrics" || fail "markdown: $(cat "$TMP/out")"

# Failures.
expect_error "only one command" "give both --baseline-cmd and --current-cmd" $sb paired --baseline-cmd true
expect_error "a failing command" "baseline run of pair 1 (warmup): exited 3: oops" \
	$sb paired --baseline-cmd 'sh -c "echo oops >&2; exit 3"' --current-cmd true --pairs 6
run_rc 0 "--allow-nonzero" $sb paired --baseline-cmd false --current-cmd false --pairs 6 --allow-nonzero
expect_error "a timeout" "current run of pair 1 (warmup): timed out after 0.2s" \
	$sb paired --baseline-cmd true --current-cmd 'sleep 5' --pairs 6 --timeout 0.2
expect_error "a missing program" "cannot run" $sb paired --baseline-cmd /nonexistent/prog --current-cmd true --pairs 6
expect_error "--metric matching nothing" "--metric 'nope' matches no measured metric" \
	$sb paired --baseline-cmd true --current-cmd true --pairs 6 --metric nope
expect_error "--max-retries alone" "--max-retries needs --require-significance" \
	$sb paired --baseline-cmd true --current-cmd true --max-retries 2
expect_error "bad --pairs" "--pairs must be at least 1" $sb paired --baseline-cmd true --current-cmd true --pairs 0
expect_error "commands and a scenario" "commands and a scenario are exclusive" \
	$sb paired latency-spawn --baseline-cmd true --current-cmd true
expect_error "no sides" "give --baseline-cmd/--current-cmd, or a SCENARIO" $sb paired
expect_error "scenario without drivers" "give --baseline-driver and --current-driver" $sb paired latency-spawn
expect_error "unknown driver" "unknown driver 'proces'" $sb paired latency-spawn --driver proces
expect_error "unknown parameter" "current side:" $sb paired latency-spawn --driver process --current-param nope=1

# Driver mode: one scenario on two drivers (here the same one twice), one iteration per run.
run_rc_any() { "$@" > "$TMP/out" 2> "$TMP/err"; echo $?; }
rc=$(run_rc_any $sb paired latency-spawn --baseline-driver process --current-driver process --pairs 6 --warmup 1 --out "$TMP/drv.json")
case $rc in 0|2) ok "driver mode exit $rc";; *) fail "driver mode exit $rc: $(cat "$TMP/err")";; esac
vjson "$TMP/drv.json" && ok "driver-mode JSON validates" || fail "driver-mode JSON invalid"
/usr/bin/python3 - "$TMP/drv.json" <<'PY' && ok "driver-mode document" || fail "driver-mode document"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["mode"] == "driver" and d["baseline"]["scenario"] == "latency-spawn" and d["current"]["driver"] == "process"
assert len(d["pairs"]) == 7 and d["pairs"][1]["current"]["status"] == "ok"
assert d["analysis"][0]["metric"] == "lifecycle_ms" and d["analysis"][0]["gated"]
PY
finish
