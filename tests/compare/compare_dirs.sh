#!/bin/bash
# `compare` on sets of reports: directories paired by scenario+driver, matrix summaries, several
# runs of one pair pooled as sessions, and real reports from `sandbench run`.
. "$SRCDIR/tests/integration/lib.sh"
sb=$SANDBENCH
craft() { /usr/bin/python3 "$SRCDIR/tests/compare/craft.py" "$@"; }
vjson() { /usr/bin/python3 "$SRCDIR/tests/tools/validate_json.py" "$SRCDIR/docs/compare.schema.json" "$1" >/dev/null; }
run_rc() {
	local want=$1 what=$2; shift 2
	"$@" > "$TMP/out" 2> "$TMP/err"; local rc=$?
	[ "$rc" -eq "$want" ] && ok "$what (exit $rc)" || { fail "$what: exit $rc, expected $want"; cat "$TMP/out" "$TMP/err"; }
}

# Two result directories: spawn unchanged, exec 2x slower, one pair only on each side. File
# names differ between the sides on purpose: pairing is by scenario+driver, not by name.
mkdir -p "$TMP/A" "$TMP/B"
craft "$TMP/A/spawn-a.json" --scenario latency-spawn --metric lifecycle_ms ms 0 1.0 30 1 1
craft "$TMP/A/exec-a.json" --scenario latency-exec-output --metric exec_ms ms 0 0.5 30 2 1
craft "$TMP/A/stdout-a.json" --scenario throughput-stdout --metric stdout_mib_per_s MiB/s 1 900 30 3 1
craft "$TMP/B/x1.json" --scenario latency-spawn --metric lifecycle_ms ms 0 1.0 30 1 1
craft "$TMP/B/x2.json" --scenario latency-exec-output --metric exec_ms ms 0 0.5 30 2 2
craft "$TMP/B/x3.json" --scenario latency-spawn --driver native --metric lifecycle_ms ms 0 3.0 30 4 1
run_rc 2 "directories: the 2x exec regression is caught" $sb compare "$TMP/A" "$TMP/B"
grep -q '^latency-exec-output on process' "$TMP/out" && grep -q 'exec_ms (p50) .*regression' "$TMP/out" \
	&& ok "paired by scenario+driver" || fail "pairing: $(cat "$TMP/out")"
grep -q 'lifecycle_ms (p50) .* ~' "$TMP/out" && ok "unchanged pair is ~" || fail "spawn pair: $(cat "$TMP/out")"
grep -q 'warning: only in baseline (not compared): throughput-stdout/process' "$TMP/err" && \
	grep -q 'warning: only in current (not compared): latency-spawn/native' "$TMP/err" \
	&& ok "unmatched reports listed" || fail "unmatched: $(cat "$TMP/err")"
expect_error "--strict with unmatched reports" "reports missing on one side (--strict): only in baseline: throughput-stdout/process; only in current: latency-spawn/native" \
	$sb compare --strict "$TMP/A" "$TMP/B"
$sb compare --json "$TMP/A" "$TMP/B" > "$TMP/dirs.json" 2>/dev/null
vjson "$TMP/dirs.json" && ok "directory compare JSON validates" || fail "directory JSON invalid"
/usr/bin/python3 - "$TMP/dirs.json" <<'PY' && ok "JSON pairs and unmatched" || fail "JSON pairs"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["baseline"]["kind"] == "directory" and len(d["baseline"]["reports"]) == 3
keys = sorted((c["scenario"], c["driver"]) for c in d["comparisons"])
assert keys == [("latency-exec-output", "process"), ("latency-spawn", "process")], keys
assert d["unmatched"] == {"baseline": ["throughput-stdout/process"], "current": ["latency-spawn/native"]}
assert d["config"]["metrics_tested"] == 2 and d["comparisons"][0]["metrics"][0]["alpha"] == 0.025
PY
mkdir -p "$TMP/C"
craft "$TMP/C/only.json" --scenario resource-mem-touch --metric mem_touch_ms ms 0 30 30 5 1
expect_error "nothing in common" "no scenario+driver in common" $sb compare "$TMP/A" "$TMP/C"
mkdir -p "$TMP/empty"
expect_error "empty directory" "no sandbench reports in this directory" $sb compare "$TMP/A" "$TMP/empty"
craft "$TMP/B/v2.json" --schema sandbench.report/v2 --metric x ms 0 1 5 1 1
expect_error "a v2 report in a directory" "schema mismatch: 'sandbench.report/v2'" $sb compare "$TMP/A" "$TMP/B"
rm "$TMP/B/v2.json"

# A matrix summary (sandbench.matrix/v1): report paths relative to the summary's directory.
mkdir -p "$TMP/M1/r" "$TMP/M2"
cp "$TMP/A/spawn-a.json" "$TMP/A/exec-a.json" "$TMP/M1/r/"
cp "$TMP/B/x1.json" "$TMP/B/x2.json" "$TMP/M2/"
cat > "$TMP/M1/matrix.json" <<'EOF'
{"schema": "sandbench.matrix/v1",
 "reports": [{"scenario": "latency-spawn", "driver": "process", "status": "ok", "path": "r/spawn-a.json"},
             {"scenario": "latency-exec-output", "driver": "process", "status": "ok", "path": "r/exec-a.json"}]}
EOF
cat > "$TMP/M2/matrix.json" <<'EOF'
{"schema": "sandbench.matrix/v1",
 "reports": [{"scenario": "latency-spawn", "driver": "process", "status": "ok", "path": "x1.json"},
             {"scenario": "latency-exec-output", "driver": "process", "status": "ok", "path": "x2.json"}]}
EOF
run_rc 2 "matrix summaries" $sb compare "$TMP/M1/matrix.json" "$TMP/M2/matrix.json"
grep -q 'exec_ms (p50) .*regression' "$TMP/out" && ok "matrix pairs compared" || fail "matrix: $(cat "$TMP/out")"
run_rc 2 "a directory holding matrix.json compares its reports once" $sb compare "$TMP/M1/matrix.json" "$TMP/M2"
echo '{"schema": "sandbench.matrix/v1", "reports": ["gone.json"]}' > "$TMP/M2/bad-matrix.json"
expect_error "matrix listing a missing report" "gone.json: cannot open" $sb compare "$TMP/M1/matrix.json" "$TMP/M2/bad-matrix.json"
rm "$TMP/M2/bad-matrix.json"

# Sessions: five baseline runs of one pair, each shifted by host drift (+-15 %), against a current
# run 12 % slower than their average. Within one run that is a clear shift, but it sits inside
# the spread between runs, so the session check keeps it at ~; a 3x slowdown still fails.
mkdir -p "$TMP/S"
i=0
for f in 0.85 1.15 0.9 1.1 1.0; do
	i=$((i + 1))
	craft "$TMP/S/run$i.json" --started "2024-01-01T00:00:0${i}Z" --metric lifecycle_ms ms 0 1.0 30 $((20 + i)) $f
done
craft "$TMP/cur12.json" --metric lifecycle_ms ms 0 1.0 30 40 1.12
craft "$TMP/cur3x.json" --metric lifecycle_ms ms 0 1.0 30 41 3
run_rc 2 "a single run vs a 12 % slower one, no drift assumed: regression" $sb compare --drift 0 "$TMP/S/run5.json" "$TMP/cur12.json"
run_rc 0 "a single run vs a 12 % slower one, default assumed drift: ~" $sb compare "$TMP/S/run5.json" "$TMP/cur12.json"
run_rc 0 "five sessions: 12 % is within the drift between runs" $sb compare "$TMP/S" "$TMP/cur12.json"
grep -q 'lifecycle_ms (p50) .* ~' "$TMP/out" && ok "sessions: ~" || fail "sessions: $(cat "$TMP/out")"
run_rc 2 "five sessions: 3x is still a regression" $sb compare --json --out "$TMP/sess.json" "$TMP/S" "$TMP/cur3x.json"
vjson "$TMP/sess.json" && ok "sessions JSON validates" || fail "sessions JSON invalid"
/usr/bin/python3 - "$TMP/sess.json" <<'PY' && ok "sessions recorded" || fail "sessions record"
import json, sys
d = json.load(open(sys.argv[1]))
c = d["comparisons"][0]
assert len(c["baseline_reports"]) == 5 and c["baseline_report"].endswith("run5.json"), c["baseline_reports"]
m = c["metrics"][0]
assert m["baseline"]["sessions"] == 5 and m["baseline"]["n"] == 150, m["baseline"]
assert m["sessions"]["df"] == 4 and m["sessions"]["p"] < 0.05, m["sessions"]
assert any("5 runs pooled as sessions" in n for n in d["notes"]), d["notes"]
PY
craft "$TMP/S/run6.json" --param size=8M --metric lifecycle_ms ms 0 1.0 30 26 1
expect_error "sessions with different parameters" "parameters differ: size=(unset) vs 8M" $sb compare "$TMP/S" "$TMP/cur12.json"
rm "$TMP/S/run6.json"

# Real reports from `sandbench run` on the process driver: the JSON is valid whatever the verdict.
$sb run latency-spawn latency-exec-output --runs 12 --out "$TMP/R1" > /dev/null 2>&1 &&
	$sb run latency-spawn latency-exec-output --runs 12 --out "$TMP/R2" > /dev/null 2>&1 \
	&& ok "two real runs" || fail "sandbench run failed"
$sb compare --json "$TMP/R1" "$TMP/R2" > "$TMP/real.json" 2> "$TMP/err"
rc=$?
case $rc in 0|2|3) ok "real compare exit $rc";; *) fail "real compare exit $rc: $(cat "$TMP/err")";; esac
vjson "$TMP/real.json" && ok "real compare JSON validates" || fail "real compare JSON invalid"
[ "$(jq '.comparisons | length' "$TMP/real.json")" = 2 ] && ok "two pairs compared" || fail "pairs: $(jq -c '.comparisons | map(.scenario)' "$TMP/real.json")"
finish
