#!/bin/bash
# The store from the command line, on SQLite: history import (idempotent), history (table,
# sparkline, change point named by its run, --json, --limit, --since), recording by run, matrix and
# paired (--store, --no-store, SANDBENCH_STORE=off), compare --against-history, baseline save|check,
# slo check, and the one-line errors.
. "$SRCDIR/tests/integration/lib.sh"
sb=$SANDBENCH
craft() { /usr/bin/python3 "$SRCDIR/tests/compare/craft.py" "$@"; }
py() { /usr/bin/python3 - "$@"; }
run_rc() {
	local want=$1 what=$2; shift 2
	"$@" > "$TMP/out" 2> "$TMP/err"; local rc=$?
	[ "$rc" -eq "$want" ] && ok "$what (exit $rc)" || { fail "$what: exit $rc, expected $want"; cat "$TMP/out" "$TMP/err"; }
}
vjson() { /usr/bin/python3 "$SRCDIR/tests/tools/validate_json.py" "$SRCDIR/docs/$1" "$2" >/dev/null; }
rows() { py "$1" "$2" <<'PY'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])
PY
}

[ "${SANDBENCH_STORE:-}" = off ] && ok "the test setup keeps the user's store off" ||
	fail "SANDBENCH_STORE is '${SANDBENCH_STORE:-}' under meson test, expected off"
export SANDBENCH_STORE=$TMP/history.db
mkdir -p "$TMP/in/sub"

# 24 daily runs, a 40 % step from the 15th (index 14), 5 % noise within each run.
for k in $(seq 0 23); do
	level=1.0; [ "$k" -ge 14 ] && level=1.4
	day=$(printf '%02d' $((k + 1)))
	dir=$TMP/in; [ "$k" -ge 20 ] && dir=$TMP/in/sub
	craft "$dir/r$k.json" --metric lifecycle_ms ms 0 "$level" 10 "$k" 1 --metric exec_ms ms 0 0.8 10 $((k + 50)) 1 \
		--param work=0 --started "2026-01-${day}T10:00:00Z" --host-ref 0.5 "$k" 1
done
echo '{"not": "sandbench"}' > "$TMP/in/other.json"
echo '{"schema": "sandbench.budgets/v1", "budgets": []}' > "$TMP/in/budgets.json"
step_id=$(py "$TMP/in/r14.json" <<'PY'
import json, sys; print(json.load(open(sys.argv[1]))["run"]["id"])
PY
)

run_rc 0 "history import" $sb history import "$TMP/in"
grep -q "24 documents from 26 files: 24 results added, 0 already present, 2 skipped" "$TMP/out" &&
	ok "import counts" || fail "import: $(cat "$TMP/out")"
n1=$(rows "$SANDBENCH_STORE" "select count(*) from samples")
run_rc 0 "history import again" $sb history import "$TMP/in"
grep -q "0 results added, 24 already present" "$TMP/out" && ok "second import adds nothing" || fail "reimport: $(cat "$TMP/out")"
[ "$(rows "$SANDBENCH_STORE" "select count(*) from samples")" = "$n1" ] && ok "sample rows unchanged ($n1)" ||
	fail "sample rows changed on reimport"
run_rc 0 "importing one report file" $sb history import "$TMP/in/r3.json" --json
grep -q '"results_present": 1' "$TMP/out" && ok "file import is idempotent too" || fail "file import: $(cat "$TMP/out")"

run_rc 0 "history table" $sb history --scenario latency-spawn --driver process --metric lifecycle_ms
grep -q "latency-spawn on process: lifecycle_ms p50, work=0 (24 runs)" "$TMP/out" && ok "series header" ||
	fail "header: $(head -3 "$TMP/out")"
grep -q "[▁▂▃▄▅▆▇█]\{24\}" "$TMP/out" && ok "a 24-point sparkline" || fail "sparkline: $(head -3 "$TMP/out")"
grep -q "change point: from run ${step_id:0:8} (2026-01-15 10:00:00): .* (+[34][0-9]\.[0-9] %), p = 0\.0" "$TMP/out" &&
	ok "the change point names the run where the step began" || fail "change point: $(grep -i change "$TMP/out")"
grep -q "${step_id:0:8}.*<- shift" "$TMP/out" && ok "its row is marked" || fail "row mark missing"

run_rc 0 "history --json" $sb history --scenario latency-spawn --metric lifecycle_ms --json
py "$TMP/out" "$step_id" <<'PY' && ok "JSON: 24 points, one change point at index 14" || fail "history JSON: $(head -c 600 "$TMP/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "sandbench.history/v1"
s, = d["series"]
assert len(s["points"]) == 24 and s["statistic"] == "p50", s
cp, = s["change_points"]
assert cp["index"] == 14 and cp["run_id"] == sys.argv[2] and 0.3 < cp["change"] < 0.5 and cp["p"] <= 0.05, cp
PY
vjson history.schema.json "$TMP/out" && ok "history JSON validates" || fail "history JSON against docs/history.schema.json"
run_rc 0 "history --limit 5 --since" $sb history --limit 5 --json
py "$TMP/out" <<'PY' && ok "limit keeps the newest 5" || fail "limit: $(head -c 400 "$TMP/out")"
import json, sys
s, = json.load(open(sys.argv[1]))["series"]
assert [p["started_at"][:10] for p in s["points"]] == ["2026-01-%02d" % d for d in range(20, 25)], s["points"]
PY
run_rc 0 "history --since a date" $sb history --since 2026-01-22 --no-changes --json
vjson history.schema.json "$TMP/out" && ok "without change points too" || fail "history JSON (--no-changes) invalid"
py "$TMP/out" <<'PY' && ok "since keeps 3 runs, no change points asked" || fail "since: $(head -c 400 "$TMP/out")"
import json, sys
s, = json.load(open(sys.argv[1]))["series"]
assert len(s["points"]) == 3 and "change_points" not in s
PY
run_rc 0 "no match" $sb history --driver nosuch
grep -q "nothing recorded matches" "$TMP/out" && ok "says nothing matches" || fail "no match: $(cat "$TMP/out")"
expect_error "bad --since" "--since 'soon'" $sb history --since soon
expect_error "bad --stat" "statistic 'p42'" $sb history --stat p42
expect_error "stray operand" "unexpected argument 'x'" $sb history x
expect_error "a directory as the store" "is a directory" $sb history --store "$TMP"
expect_error "history does not create a store" "no store at $TMP/none.db: nothing recorded yet" $sb history --store "$TMP/none.db"
[ ! -e "$TMP/none.db" ] && ok "and left no file" || fail "history created $TMP/none.db"
expect_error "import of a missing path" "nosuch.json" $sb history import "$TMP/nosuch.json"
echo '{"schema": ' > "$TMP/bad.json"
expect_error "import of malformed JSON" "bad.json: malformed JSON" $sb history import "$TMP/bad.json"

# compare --against-history: the last N runs of the same host class as the baseline.
craft "$TMP/same.json" --metric lifecycle_ms ms 0 1.4 10 99 1 --metric exec_ms ms 0 0.8 10 98 1 --param work=0 \
	--started 2026-02-01T10:00:00Z --host-ref 0.5 99 1
craft "$TMP/slow.json" --metric lifecycle_ms ms 0 2.1 10 99 1 --metric exec_ms ms 0 0.8 10 98 1 --param work=0 \
	--started 2026-02-01T10:00:00Z --host-ref 0.5 99 1
run_rc 0 "against-history: same level passes" $sb compare --against-history 5 "$TMP/same.json"
grep -q "lifecycle_ms (p50) .*50+10 .* ~" "$TMP/out" && ok "five runs of history pooled" || fail "same: $(cat "$TMP/out")"
run_rc 2 "against-history: 50 % slower is a regression" $sb compare --against-history 5 "$TMP/slow.json"
grep -q "lifecycle_ms (p50) .*regression" "$TMP/out" && ok "regression row" || fail "slow: $(cat "$TMP/out")"
craft "$TMP/native.json" --driver native --metric lifecycle_ms ms 0 1 10 1 1 --param work=0
expect_error "no history" "no history for latency-spawn on native" $sb compare --against-history 3 "$TMP/native.json"
expect_error "one operand with --against-history" "takes CURRENT only" $sb compare --against-history 3 "$TMP/same.json" "$TMP/slow.json"

# Recording: run, matrix and paired write into the store; --no-store and SANDBENCH_STORE=off do not.
results() { rows "$SANDBENCH_STORE" "select count(*) from results"; }
before=$(results)
run_rc 0 "run records" $sb run latency-spawn --runs 4 --out "$TMP/run1"
grep -q "history: 1 result recorded in $SANDBENCH_STORE" "$TMP/out" && ok "run says where" || fail "run: $(tail -2 "$TMP/out")"
[ "$(results)" = $((before + 1)) ] && ok "one result more" || fail "results $(results), expected $((before + 1))"
run_rc 0 "run --no-store" $sb run latency-spawn --runs 2 --out "$TMP/run2" --no-store
SANDBENCH_STORE=off $sb run latency-spawn --runs 2 --out "$TMP/run3" > /dev/null 2>&1
[ "$(results)" = $((before + 1)) ] && ok "--no-store and SANDBENCH_STORE=off record nothing" || fail "recorded anyway"
run_rc 0 "run --store elsewhere" $sb run latency-spawn --runs 2 --out "$TMP/run4" --store "$TMP/other.db" --json
[ "$(rows "$TMP/other.db" "select count(*) from results")" = 1 ] && ok "--store wins over SANDBENCH_STORE" ||
	fail "--store not used"
expect_error "run with a bad store fails before running" "history store" $sb run latency-spawn --runs 2 --out "$TMP/run5" --store "$TMP"
[ ! -e "$TMP/run5" ] || [ -z "$(ls "$TMP/run5")" ] && ok "and wrote no report" || fail "reports written despite the store error"
run_rc 0 "history --host this finds the real run" $sb history --host this --scenario latency-spawn --json
grep -q "$(py "$TMP"/run1/*.json <<'PY'
import json, sys; print(json.load(open(sys.argv[1]))["run"]["id"])
PY
)" "$TMP/out" && ok "this host's run listed" || fail "host this: $(head -c 300 "$TMP/out")"
run_rc 0 "matrix records" $sb matrix --drivers process --scenarios latency-spawn --runs 3 --out "$TMP/m"
[ "$(rows "$SANDBENCH_STORE" "select count(*) from runs where kind = 'matrix' and document is not null")" = 1 ] &&
	ok "matrix run with its summary" || fail "no matrix run"
# identical commands, but 6 pairs on a busy host can still tell them apart by chance (+14 %, p 0.003
# seen in CI): the threshold is set out of reach, this checks the record, not the verdict
run_rc 0 "paired records" $sb paired --baseline-cmd /bin/true --current-cmd /bin/true --pairs 6 --warmup 1 --threshold 5
[ "$(rows "$SANDBENCH_STORE" "select count(*) from results where side in ('baseline', 'current')")" = 2 ] &&
	ok "paired sides recorded" || fail "paired sides missing"
[ "$(rows "$SANDBENCH_STORE" "select n from aggregates a join results r on r.id = a.result_id where r.side = 'current' and a.metric = 'wall_ms'")" = 6 ] &&
	ok "paired aggregates over the measured pairs" || fail "paired aggregate n"

# Baselines per host class.
BL=$TMP/baselines
run_rc 0 "baseline save" $sb baseline save "$TMP/in/r18.json" "$TMP/in/r19.json" "$TMP/in/sub" --dir "$BL"
d="$BL/test-cpu-2-00ghz-2cpu-linux6/process--1-0"
[ "$(ls "$d" | wc -l)" = 6 ] && ok "six runs saved under the host class" || fail "baseline files: $(find "$BL")"
run_rc 0 "baseline check: same level" $sb baseline check "$TMP/same.json" --dir "$BL"
run_rc 2 "baseline check: slower" $sb baseline check "$TMP/slow.json" --dir "$BL"
run_rc 0 "baseline save replaces" $sb baseline save "$TMP/in/r19.json" --dir "$BL"
[ "$(ls "$d" | wc -l)" = 1 ] && ok "the scenario's old runs replaced" || fail "after replace: $(ls "$d")"
craft "$TMP/othercpu.json" --metric lifecycle_ms ms 0 1 10 1 1 --param work=0 --host 'cpu_model="Other CPU"'
expect_error "baseline check of another host class" "no baseline in $BL/other-cpu-2cpu-linux6/process--1-0" \
	$sb baseline check "$TMP/othercpu.json" --dir "$BL"

# SLOs.
cat > "$TMP/slo.json" <<'EOF'
{"schema": "sandbench.slo/v1", "slos": [
  {"scenario": "latency-spawn", "driver": "process", "metric": "lifecycle_ms", "statistic": "p50", "max": 3},
  {"scenario": "latency-spawn", "driver": "process", "metric": "exec_ms", "statistic": "p99", "max": 1, "unit": "ms"}
]}
EOF
run_rc 0 "slo check: met" $sb slo check --slo "$TMP/slo.json" "$TMP/in/r0.json"
grep -qx "process lifecycle p50 [0-9.]* ms (SLO 3 ms, -[0-9]* %) | process exec p99 [0-9.]* ms (SLO 1 ms, -[0-9]* %) | all SLOs met" "$TMP/out" &&
	ok "the one-line summary" || fail "slo line: $(cat "$TMP/out")"
cat > "$TMP/slo2.json" <<'EOF'
{"schema": "sandbench.slo/v1", "slos": [
  {"scenario": "latency-spawn", "driver": "process", "metric": "lifecycle_ms", "statistic": "p50", "max": 1.2, "label": "spawn"},
  {"scenario": "latency-spawn", "driver": "native", "metric": "lifecycle_ms", "statistic": "p50", "max": 3}
]}
EOF
run_rc 2 "slo check: violated (pooled runs of a directory)" $sb slo check --slo "$TMP/slo2.json" "$TMP/in/sub"
grep -q "^spawn p50 1\.[0-9]* ms (SLO 1.2 ms, +[0-9]* %) VIOLATED | native lifecycle p50 n/a .* | 1 of 1 SLOs violated, 1 not measured$" "$TMP/out" &&
	ok "violation and the unmeasured SLO named" || fail "slo2: $(cat "$TMP/out")"
run_rc 0 "slo check --json" $sb slo check --slo "$TMP/slo.json" --json "$TMP/in/sub"
vjson slo-check.schema.json "$TMP/out" && ok "slo-check JSON validates" || fail "slo JSON against docs/slo-check.schema.json"
py "$TMP/out" <<'PY' && ok "pooled over the 4 runs in the directory" || fail "slo json: $(head -c 500 "$TMP/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "sandbench.slo-check/v1" and d["exit_code"] == 0 and d["met"] == 2
assert all(r["runs"] == 4 for r in d["results"]), d["results"]
PY
cat > "$TMP/slo3.json" <<'EOF'
{"schema": "sandbench.slo/v1", "slos": [
  {"scenario": "latency-spawn", "driver": "process", "metric": "lifecycle_ms", "statistic": "p50", "max": 3},
  {"scenario": "latency-spawn", "driver": "native", "metric": "lifecycle_ms", "statistic": "p50", "max": 3}
]}
EOF
run_rc 3 "slo check: not measured with --fail-on-warn" $sb slo check --slo "$TMP/slo3.json" --fail-on-warn "$TMP/in/r0.json"
$sb slo check --slo "$TMP/slo3.json" --json "$TMP/in/r0.json" > "$TMP/na.json"
vjson slo-check.schema.json "$TMP/na.json" && ok "an unmeasured SLO's JSON validates" || fail "n/a JSON invalid"
craft "$TMP/exec.json" --scenario latency-exec-output --metric exec_ms ms 0 1 10 1 1
run_rc 1 "slo check: nothing measured" $sb slo check --slo "$TMP/slo3.json" "$TMP/exec.json"
grep -q "no SLO could be checked" "$TMP/err" && ok "says so" || fail "nothing measured: $(cat "$TMP/err")"
echo '{"slos": [{"scenario": "a", "metric": "m", "statistic": "p50", "max": 1, "maxx": 2}]}' > "$TMP/bad1.json"
expect_error "slo unknown key" "slos[0]: unknown key 'maxx'" $sb slo check --slo "$TMP/bad1.json" "$TMP/in/r0.json"
echo '{"slos": [{"scenario": "a", "metric": "m", "statistic": "p50", "max": 1, "min": 0}]}' > "$TMP/bad2.json"
expect_error "slo two bounds" "exactly one bound" $sb slo check --slo "$TMP/bad2.json" "$TMP/in/r0.json"
echo '{"slos": [{"scenario": "a", "metric": "m", "max": 1}]}' > "$TMP/bad3.json"
expect_error "slo without statistic" "needs a 'statistic'" $sb slo check --slo "$TMP/bad3.json" "$TMP/in/r0.json"
echo '{"slos": [{"scenario": "latency-spawn", "driver": "process", "metric": "lifecycle_ms", "statistic": "p50", "max": 1, "unit": "s"}]}' > "$TMP/bad4.json"
expect_error "slo unit mismatch" "is in 'ms', the SLO says 's'" $sb slo check --slo "$TMP/bad4.json" "$TMP/in/r0.json"
expect_error "slo without a file" "--slo FILE" $sb slo check "$TMP/in/r0.json"
finish
