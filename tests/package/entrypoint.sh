#!/bin/bash
# The bench container's entrypoint (packaging/entrypoint.sh) run straight on this host with the
# build's sandbench and SANDBENCH_OUTPUT in a temp dir: system information, the quick suite on
# native, reports copied and valid, a summary, the SLO line (the `slo` verb's answer, or that it is
# unavailable), compare's exit code passed through (a crafted faster baseline -> 2, a baseline of
# another driver -> 1), the matrix path for a driver list, refusal without CAP_SYS_ADMIN naming
# --privileged, bad settings refused with one line, and SIGTERM ending the run with 143 and nothing
# left running.
. "$SRCDIR/tests/integration/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "the native driver needs root"
entry=$SRCDIR/packaging/entrypoint.sh
export SANDBENCH_BIN=$SANDBENCH SANDBENCH_CACHE=$TMP/cache
unset SANDBENCH_PROFILE SANDBENCH_DRIVERS SANDBENCH_RUNS SANDBENCH_BASELINE SANDBENCH_BASELINES SANDBENCH_SLO \
	SANDBENCH_ARGS SANDBENCH_COMPARE_ARGS SANDBENCH_PREPARE_HOST
# Record nothing into a results store (builds that have one read this).
export SANDBENCH_STORE=off

# How many reports the quick profile makes per driver.
nquick=$("$SANDBENCH" list | awk 'NR > 1 && $4 ~ /(^|,)quick(,|$)/' | wc -l)
[ "$nquick" -ge 1 ] || fail "no quick scenario in sandbench list"

# --- defaults: quick on native --------------------------------------------------------------
o1=$TMP/o1
SANDBENCH_OUTPUT=$o1 SANDBENCH_RUNS=16 bash "$entry" >"$TMP/e1.out" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "default run exits 0" || { tail -20 "$TMP/e1.out"; fail "default run exit $rc"; }
grep -q -- "--profile quick --driver native" "$TMP/e1.out" && ok "the default is the quick profile on native" ||
	fail "default command not quick on native"
want_commit=$("$SANDBENCH" --version | sed -n '1s/.*(\(.*\)).*/\1/p')
for key in commit compiler cpu cores memory kernel cgroups privileged; do
	grep -q "^$key: *[^ ]" "$o1/system.txt" 2>/dev/null || fail "system.txt lacks '$key'"
done
grep -qx "commit: *$want_commit" "$o1/system.txt" && ok "system info names the commit $want_commit" ||
	fail "commit line: $(grep ^commit "$o1/system.txt")"
grep -q "^compiler: *gcc\|^compiler: *.*clang" "$o1/system.txt" && ok "system info names the compiler" ||
	fail "compiler line: $(grep ^compiler "$o1/system.txt")"
grep -q "^privileged: *yes" "$o1/system.txt" && ok "root on the host counts as privileged" || fail "privileged line wrong"
grep -Eq '^native +yes' "$o1/system.txt" && grep -Eq '^[a-z-]+ +no +' "$TMP/e1.out" &&
	ok "the driver table says usable or not, and why" || echo "note: every driver usable here (or table missing)"
n=$(ls "$o1"/reports/*.json 2>/dev/null | wc -l)
[ "$n" -eq "$nquick" ] && ok "$n quick reports copied to OUTPUT/reports" || fail "$n reports in $o1/reports, $nquick expected"
out=$(validate "$o1/reports" 2>&1) && ok "copied reports validate ($out)" || fail "validation: $out"
grep -q '^| commit |' "$o1/summary.md" && grep -q 'lifecycle_ms' "$o1/summary.md" &&
	ok "summary.md has the system table and the results" || fail "summary.md incomplete"

# --- the SLO line: the verb's answer when it exists, else unavailable --------------------------
if "$SANDBENCH" slo --help >/dev/null 2>&1; then
	# By default (no SANDBENCH_SLO, no /etc/sandbench/slo.json) the file beside the script.
	want=$("$SANDBENCH" slo check --slo "$SRCDIR/packaging/slo.json" "$o1/reports" 2>&1 | tail -1)
	[ -n "$want" ] && [ "$(cat "$o1/slo.txt")" = "$want" ] && grep -qxF "$want" "$TMP/e1.out" &&
		ok "SLO line printed is slo check's: $want" || fail "SLO line '$(cat "$o1/slo.txt")' vs slo check '$want'"
	printf '{"schema": "sandbench.slo/v1", "slos": [{"scenario": "latency-spawn", "driver": "native",
	  "metric": "lifecycle_ms", "statistic": "p50", "max": 0.000001}]}\n' >"$TMP/tight.json"
	SANDBENCH_OUTPUT=$TMP/o-slo SANDBENCH_RUNS=2 SANDBENCH_SLO=$TMP/tight.json bash "$entry" >"$TMP/eslo.out" 2>&1
	rc=$?
	[ $rc -eq 2 ] && grep -q VIOLATED "$TMP/o-slo/slo.txt" && ok "a missed SLO exits 2: $(cat "$TMP/o-slo/slo.txt")" ||
		fail "missed SLO: exit $rc, $(cat "$TMP/o-slo/slo.txt" 2>&1)"
	SANDBENCH_OUTPUT=$TMP/o-noslo SANDBENCH_RUNS=2 SANDBENCH_SLO=$TMP/none.json bash "$entry" >"$TMP/enoslo.out" 2>&1
	rc=$?
	[ $rc -eq 0 ] && grep -q "SLO summary unavailable: no SLO file at $TMP/none.json" "$TMP/o-noslo/slo.txt" &&
		ok "no SLO file: said so, exit 0" || fail "no SLO file: exit $rc, $(cat "$TMP/o-noslo/slo.txt" 2>&1)"
else
	grep -qx "SLO summary unavailable: this sandbench has no 'slo' verb" "$o1/slo.txt" &&
		grep -q "SLO summary unavailable" "$TMP/e1.out" &&
		ok "without an slo verb the SLO summary is said to be unavailable" || fail "slo.txt: $(cat "$o1/slo.txt")"
fi

# --- the results store: OUTPUT/history.db unless SANDBENCH_STORE names one (off: none) ----------
if "$SANDBENCH" run --help 2>&1 | grep -q -- '--store'; then
	[ ! -e "$o1/history.db" ] && ok "SANDBENCH_STORE=off: nothing recorded" || fail "history.db written despite SANDBENCH_STORE=off"
	env -u SANDBENCH_STORE SANDBENCH_OUTPUT="$TMP/o-st" SANDBENCH_RUNS=2 bash "$entry" >"$TMP/est.out" 2>&1
	n=$("$SANDBENCH" history --store "$TMP/o-st/history.db" --json 2>/dev/null | grep -c '"run_id"')
	[ -f "$TMP/o-st/history.db" ] && [ "$n" -gt 0 ] && ok "no SANDBENCH_STORE: the run recorded into OUTPUT/history.db" ||
		fail "no history in $TMP/o-st/history.db ($n points)"
fi

# --- committed baselines by hardware class (SANDBENCH_BASELINES) ----------------------------------
mkdir -p "$TMP/nobl"
SANDBENCH_OUTPUT=$TMP/o-bl0 SANDBENCH_RUNS=2 SANDBENCH_BASELINES=$TMP/nobl bash "$entry" >"$TMP/ebl0.out" 2>&1
rc=$?
if "$SANDBENCH" baseline --help >/dev/null 2>&1; then
	class=$(bash "$SRCDIR/packaging/host-class.sh")
	[ $rc -eq 0 ] && grep -q "no committed baseline for hardware class '$class'" "$TMP/ebl0.out" &&
		ok "no baseline for class $class: said so, exit 0" || fail "no baseline: exit $rc"
	"$SANDBENCH" baseline save "$o1/reports" --dir "$TMP/bl" >/dev/null 2>&1
	[ -d "$TMP/bl/$class" ] && ok "host-class.sh names the class baseline save files under ($class)" ||
		fail "baseline save made $(ls "$TMP/bl"), host-class.sh says $class"
	SANDBENCH_OUTPUT=$TMP/o-bl SANDBENCH_RUNS=16 SANDBENCH_BASELINES=$TMP/bl bash "$entry" >"$TMP/ebl.out" 2>&1
	rc=$?
	grep -q "== baseline check .* ($class)" "$TMP/ebl.out" && [ $rc -ne 1 ] && grep -q '^| latency-spawn' "$TMP/o-bl/summary.md" &&
		ok "baseline check against the class's baseline: exit $rc, verdicts in summary.md" ||
		{ tail -5 "$TMP/ebl.out"; fail "baseline check: exit $rc"; }
else
	[ $rc -eq 0 ] && grep -q "no 'baseline' verb" "$TMP/ebl0.out" &&
		ok "without a baseline verb: said so, exit 0" || fail "baselines without the verb: exit $rc"
fi

# --- compare's exit code goes through ---------------------------------------------------------
# A baseline 5x faster on every time sample of latency-spawn: the new run must regress (exit 2).
mkdir -p "$TMP/fast" "$TMP/other"
/usr/bin/python3 - "$o1/reports" "$TMP/fast" "$TMP/other" <<'PY'
import json, pathlib, sys
src, fast, other = map(pathlib.Path, sys.argv[1:])
for f in src.glob("*.json"):
    r = json.loads(f.read_text())
    r2 = json.loads(f.read_text())
    if r["scenario"]["name"] == "latency-spawn":
        for s in r["samples"]:
            s["metrics"] = {k: (v * 0.2 if k.endswith("_ms") else v) for k, v in s["metrics"].items()}
        (fast / f.name).write_text(json.dumps(r))
    r2["driver"]["name"] = "process"
    (other / f.name.replace("native", "process")).write_text(json.dumps(r2))
PY
# Per-metric alpha (no Bonferroni over the 8 metrics): 16+16 fully separated samples decide.
SANDBENCH_OUTPUT=$TMP/o2 SANDBENCH_RUNS=16 SANDBENCH_BASELINE=$TMP/fast SANDBENCH_COMPARE_ARGS="--correction none" \
	bash "$entry" >"$TMP/e2.out" 2>&1
rc=$?
[ $rc -eq 2 ] && ok "a regression against the baseline exits 2" || { tail -30 "$TMP/e2.out"; fail "regression run exit $rc"; }
grep -q '"verdict": *"regression"' "$TMP/o2/compare.json" 2>/dev/null && ok "compare.json written, with the regression" ||
	fail "no regression in $TMP/o2/compare.json"
grep -q '^| latency-spawn / native | .*| \*\*regression\*\* |$' "$TMP/o2/summary.md" && ok "summary.md carries compare's Markdown" ||
	fail "summary.md lacks the comparison"
SANDBENCH_OUTPUT=$TMP/o3 SANDBENCH_RUNS=2 SANDBENCH_BASELINE=$TMP/other bash "$entry" >"$TMP/e3.out" 2>&1
rc=$?
[ $rc -eq 1 ] && ok "a baseline of another driver (compare's guard) exits 1" || fail "guard run exit $rc"

# --- a driver list runs the matrix ------------------------------------------------------------
SANDBENCH_OUTPUT=$TMP/o4 SANDBENCH_RUNS=2 SANDBENCH_DRIVERS=process,native bash "$entry" >"$TMP/e4.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "matrix --drivers process,native --scenarios quick" "$TMP/e4.out" &&
	[ -f "$TMP/o4/matrix.json" ] && [ "$(ls "$TMP"/o4/reports/*.json | wc -l)" -eq $((2 * nquick)) ] &&
	ok "SANDBENCH_DRIVERS=process,native: matrix, $((2 * nquick)) reports, matrix.json beside them" ||
	fail "matrix path: exit $rc, $(ls "$TMP/o4" "$TMP/o4/reports" 2>&1 | tr '\n' ' ')"
out=$(validate "$TMP/o4/reports" 2>&1) && ok "matrix reports validate" || fail "matrix validation: $out"

# --- without privileges: refuse and say --privileged --------------------------------------------
if command -v setpriv >/dev/null; then
	SANDBENCH_OUTPUT=$TMP/o5 setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin bash "$entry" \
		>"$TMP/e5.out" 2>"$TMP/e5.err"
	rc=$?
	[ $rc -eq 1 ] && grep -q -- "--privileged" "$TMP/e5.err" && grep -q "CAP_SYS_ADMIN" "$TMP/e5.err" &&
		ok "without CAP_SYS_ADMIN: exit 1, '$(head -c 90 "$TMP/e5.err")...'" ||
		fail "unprivileged: exit $rc, stderr $(cat "$TMP/e5.err")"
	[ "$(wc -l <"$TMP/e5.err")" -eq 1 ] && ok "one error line" || fail "more than one error line: $(cat "$TMP/e5.err")"
	grep -q "^privileged: no: lacks CAP_SYS_ADMIN" "$TMP/e5.out" && ok "system info says what is lacking" ||
		fail "privileged line: $(grep privileged "$TMP/e5.out")"
	[ ! -d "$TMP/o5/reports" ] && ok "nothing run without privileges" || fail "it ran anyway"
else
	echo "note: setpriv missing, unprivileged refusal not checked here"
fi

# --- bad settings ------------------------------------------------------------------------------
expect_error "SANDBENCH_PROFILE=fast" "SANDBENCH_PROFILE='fast'" env SANDBENCH_OUTPUT="$TMP/o6" SANDBENCH_PROFILE=fast bash "$entry"
expect_error "SANDBENCH_RUNS=many" "SANDBENCH_RUNS='many'" env SANDBENCH_OUTPUT="$TMP/o6" SANDBENCH_RUNS=many bash "$entry"
expect_error "SANDBENCH_BASELINE missing" "SANDBENCH_BASELINE=$TMP/none does not exist" \
	env SANDBENCH_OUTPUT="$TMP/o6" SANDBENCH_BASELINE="$TMP/none" bash "$entry"
expect_error "unknown driver" "unknown driver" env SANDBENCH_OUTPUT="$TMP/o6" SANDBENCH_DRIVERS=nativ bash "$entry"

# --- SIGTERM: 143, and the run's processes gone --------------------------------------------------
SANDBENCH_OUTPUT=$TMP/o7 SANDBENCH_PROFILE=standard SANDBENCH_RUNS=200 setsid bash "$entry" >"$TMP/e7.out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "== sandbench run" "$TMP/e7.out" && break; sleep 0.1; done
sleep 1
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 143 ] && ok "SIGTERM: exit 143" || { tail -5 "$TMP/e7.out"; fail "SIGTERM: exit $rc"; }
sleep 0.5
left=$(pgrep -s $pid 2>/dev/null)
[ -z "$left" ] && ok "nothing of the run left running" || fail "left running: $(ps -o pid,cmd -p "$left")"
work=$(sed -n 's|.* --out \(/tmp/sandbench-entry-[A-Za-z0-9]*\)/reports.*|\1|p' "$TMP/e7.out" | head -1)
[ -n "$work" ] && [ ! -e "$work" ] && ok "its work directory $work is gone" || fail "work directory '$work' left"
[ -n "$(ls "$TMP"/o7/reports/*.json 2>/dev/null)" ] && ok "the interrupted run's reports were still copied" ||
	fail "no report copied after SIGTERM"
finish
