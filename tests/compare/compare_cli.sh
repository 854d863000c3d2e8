#!/bin/bash
# `compare` on crafted report pairs: verdicts, direction, every guard with its one-line message,
# n/a with the samples needed, --fail-on-warn, --markdown, --json/--out against the schema, budgets.
. "$SRCDIR/tests/integration/lib.sh"
sb=$SANDBENCH
craft() { /usr/bin/python3 "$SRCDIR/tests/compare/craft.py" "$@"; }
vjson() { /usr/bin/python3 "$SRCDIR/tests/tools/validate_json.py" "$SRCDIR/docs/compare.schema.json" "$1" >/dev/null; }
# run_rc WANT what cmd...: exit code check, output kept in $TMP/out and $TMP/err.
run_rc() {
	local want=$1 what=$2; shift 2
	"$@" > "$TMP/out" 2> "$TMP/err"; local rc=$?
	[ "$rc" -eq "$want" ] && ok "$what (exit $rc)" || { fail "$what: exit $rc, expected $want"; cat "$TMP/out" "$TMP/err"; }
}
M="lifecycle_ms ms 0 1.0 30 11"

craft "$TMP/base.json" --metric $M 1 --metric rate_ops 1/s 1 500 30 12 1
validate "$TMP/base.json" && ok "crafted report is schema-valid" || fail "crafted report invalid"

# A clear 2x regression of a lower-is-better metric.
craft "$TMP/slow.json" --metric $M 2 --metric rate_ops 1/s 1 500 30 12 1
run_rc 2 "2x slowdown is a regression" $sb compare "$TMP/base.json" "$TMP/slow.json"
grep -q 'lifecycle_ms (p50) .*regression' "$TMP/out" && ok "table row says regression" || fail "no regression row: $(cat "$TMP/out")"
grep -q 'rate_ops (p50) .* ~' "$TMP/out" && ok "unchanged metric is ~" || fail "rate_ops not ~"

# --test permutation: the same verdicts from a permutation test of the median; reproducible.
run_rc 2 "permutation test: 2x is a regression" $sb compare --test permutation --json --out "$TMP/perm.json" "$TMP/base.json" "$TMP/slow.json"
$sb compare --test permutation --json "$TMP/base.json" "$TMP/slow.json" > "$TMP/perm2.json"
vjson "$TMP/perm.json" && ok "permutation JSON validates" || fail "permutation JSON invalid"
/usr/bin/python3 - "$TMP/perm.json" "$TMP/perm2.json" <<'PY' && ok "permutation test recorded and reproducible" || fail "permutation record"
import json, sys
a, b = (json.load(open(f))["comparisons"][0]["metrics"][0] for f in sys.argv[1:])
t = a["test"]
assert t["name"] == "permutation" and t["statistic"] == "median" and t["permutations"] == 10000, t
assert t["observed"] > 0.5 and t["p_independent"] < 0.001, t
assert t["p_independent"] == b["test"]["p_independent"], (t, b["test"])
PY
run_rc 0 "permutation test with --on p90 keeps Mann-Whitney" $sb compare --test permutation --on p90 --json "$TMP/base.json" "$TMP/base.json"
grep -q '"name": "mann-whitney"' "$TMP/out" && ok "p90: mann-whitney" || fail "p90 test: $(head -c 400 "$TMP/out")"
expect_error "bad --test" "--test 'ttest': expected mann-whitney or permutation" $sb compare --test ttest "$TMP/base.json" "$TMP/slow.json"

# The same samples in another order: nothing changed.
craft "$TMP/shuf.json" --shuffle-of "$TMP/base.json"
run_rc 0 "shuffled copy is ~" $sb compare "$TMP/base.json" "$TMP/shuf.json"
run_rc 0 "shuffled copy is ~ under the permutation test too" $sb compare --test permutation "$TMP/base.json" "$TMP/shuf.json"
grep -q '0 regression, 0 warn, 0 improvement, 2 ~' "$TMP/out" && ok "all ~" || fail "shuffled: $(tail -1 "$TMP/out")"

# Higher is better: a drop is a regression, a rise an improvement.
craft "$TMP/drop.json" --metric $M 1 --metric rate_ops 1/s 1 500 30 12 0.5
run_rc 2 "higher-is-better drop is a regression" $sb compare "$TMP/base.json" "$TMP/drop.json"
grep -q 'rate_ops (p50) .*regression' "$TMP/out" && ok "rate_ops regression" || fail "rate_ops: $(cat "$TMP/out")"
run_rc 0 "higher-is-better rise is an improvement" $sb compare "$TMP/drop.json" "$TMP/base.json"
grep -q 'rate_ops (p50) .*improvement' "$TMP/out" && ok "rate_ops improvement" || fail "rate_ops: $(cat "$TMP/out")"

# Guards: one line on stderr, exit 1.
craft "$TMP/v2.json" --schema sandbench.report/v2 --metric $M 1
expect_error "schema mismatch" "schema mismatch: 'sandbench.report/v2'" $sb compare "$TMP/base.json" "$TMP/v2.json"
craft "$TMP/other-scn.json" --scenario latency-exec-output --metric $M 1 --metric rate_ops 1/s 1 500 30 12 1
expect_error "scenario mismatch" "scenario 'latency-spawn' vs 'latency-exec-output'" $sb compare "$TMP/base.json" "$TMP/other-scn.json"
craft "$TMP/other-drv.json" --driver native --metric $M 1 --metric rate_ops 1/s 1 500 30 12 1
expect_error "driver mismatch" "driver 'process' vs 'native'" $sb compare "$TMP/base.json" "$TMP/other-drv.json"
craft "$TMP/other-par.json" --param size=8M --metric $M 1 --metric rate_ops 1/s 1 500 30 12 1
expect_error "parameter mismatch" "parameters differ: size=(unset) vs 8M" $sb compare "$TMP/base.json" "$TMP/other-par.json"
run_rc 0 "--allow-mismatch compares anyway" $sb compare --allow-mismatch "$TMP/base.json" "$TMP/other-drv.json"
grep -q 'warning: latency-spawn/process: compared despite a mismatch' "$TMP/err" && ok "mismatch warning" || fail "no mismatch warning: $(cat "$TMP/err")"

# A metric missing on one side: listed, fatal only with --strict.
craft "$TMP/less.json" --metric $M 1
run_rc 0 "missing metric is a warning" $sb compare "$TMP/base.json" "$TMP/less.json"
grep -q 'warning: latency-spawn/process: metric rate_ops is missing in current' "$TMP/err" && ok "missing metric listed" || fail "missing metric: $(cat "$TMP/err")"
grep -q 'rate_ops .*missing in current' "$TMP/out" && ok "missing metric in the table" || fail "table lacks the missing metric"
expect_error "--strict missing metric" "metrics missing on one side (--strict): rate_ops missing in current" \
	$sb compare --strict "$TMP/base.json" "$TMP/less.json"

# Host fingerprint: a warning, or an error with --host-mismatch=error.
craft "$TMP/bighost.json" --host cpu_count=16 --host 'cpu_model="Other CPU"' --metric $M 1 --metric rate_ops 1/s 1 500 30 12 1
run_rc 0 "host mismatch warns" $sb compare "$TMP/base.json" "$TMP/bighost.json"
grep -q "warning: host mismatch: cpu_model 'Test CPU @ 2.00GHz' vs 'Other CPU'; cpu_count 2 vs 16" "$TMP/err" \
	&& ok "host mismatch warning names the fields" || fail "host warning: $(cat "$TMP/err")"
expect_error "--host-mismatch=error" "host mismatch between baseline" $sb compare --host-mismatch=error "$TMP/base.json" "$TMP/bighost.json"
craft "$TMP/mem.json" --host mem_total=1073741824 --metric $M 1 --metric rate_ops 1/s 1 500 30 12 1
run_rc 0 "memory 8x smaller warns" $sb compare "$TMP/base.json" "$TMP/mem.json"
grep -q 'mem_total 8589934592 vs 1073741824' "$TMP/err" && ok "mem_total named" || fail "mem warning: $(cat "$TMP/err")"
craft "$TMP/arm.json" --host 'arch="aarch64"' --metric $M 1 --metric rate_ops 1/s 1 500 30 12 1
expect_error "arch differs is an error when asked" "arch 'x86_64' vs 'aarch64'" $sb compare --host-mismatch error "$TMP/base.json" "$TMP/arm.json"
craft "$TMP/cpu3.json" --host cpu_count=3 --metric $M 1 --metric rate_ops 1/s 1 500 30 12 1
run_rc 0 "cpu_count within 2x is fine" $sb compare --host-mismatch=error "$TMP/base.json" "$TMP/cpu3.json"

# Too few samples: n/a with the count needed.
craft "$TMP/few-a.json" --metric lifecycle_ms ms 0 1.0 3 1 1
craft "$TMP/few-b.json" --metric lifecycle_ms ms 0 1.0 3 2 3
run_rc 0 "3 samples per side is n/a" $sb compare "$TMP/few-a.json" "$TMP/few-b.json"
grep -q 'n/a (need 4/side)' "$TMP/out" && ok "n/a says 4 per side are needed" || fail "n/a: $(cat "$TMP/out")"
run_rc 0 "p99 from 30 samples is n/a" $sb compare --on p99 "$TMP/base.json" "$TMP/slow.json"
grep -q 'lifecycle_ms (p99) .*n/a (need 100/side)' "$TMP/out" && ok "p99 needs 100 per side" || fail "p99: $(cat "$TMP/out")"

# A 7 % slowdown with little noise: warn; exit 3 only with --fail-on-warn.
/usr/bin/python3 - "$TMP" <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(d + "/base.json"))
for s in r["samples"]:
    # spread in a scrambled order: a monotone series would read as autocorrelated drift
    s["metrics"] = {"lifecycle_ms": 1.0 + 0.0001 * ((s["iteration"] * 7) % 30)}
r["aggregates"] = [a for a in r["aggregates"] if a["metric"] == "lifecycle_ms"]
json.dump(r, open(d + "/tight.json", "w"))
for s in r["samples"]:
    s["metrics"]["lifecycle_ms"] *= 1.07
json.dump(r, open(d + "/tight7.json", "w"))
PY
# One run per side: by default a change must also clear the assumed drift between runs (5 % per
# run: a band of ~20 % at this alpha), so 7 % is ~ "within drift"; --drift 0 trusts the runs.
run_rc 0 "7 % slower, one run per side: within the assumed drift" $sb compare "$TMP/tight.json" "$TMP/tight7.json"
grep -q 'lifecycle_ms (p50) .*~ (within drift ±1[0-9]%)' "$TMP/out" && ok "~ within drift, band shown" || fail "drift: $(cat "$TMP/out")"
run_rc 0 "7 % slower is warn with --drift 0, exit 0" $sb compare --drift 0 "$TMP/tight.json" "$TMP/tight7.json"
grep -q 'lifecycle_ms (p50) .*warn' "$TMP/out" && ok "warn verdict" || fail "warn: $(cat "$TMP/out")"
run_rc 3 "--fail-on-warn exits 3" $sb compare --drift 0 --fail-on-warn "$TMP/tight.json" "$TMP/tight7.json"
run_rc 3 "--fail-on-warn exits 3 on a host warning" $sb compare --fail-on-warn "$TMP/base.json" "$TMP/mem.json"
run_rc 2 "threshold 0.05 makes it a regression" $sb compare --drift 0 --threshold 0.05 "$TMP/tight.json" "$TMP/tight7.json"
run_rc 2 "a budget's drift applies per metric" $sb compare --threshold 0.05 --budgets <(echo '{"schema": "sandbench.budgets/v1", "budgets": [{"metric": "lifecycle_*", "drift": 0.01}]}') "$TMP/tight.json" "$TMP/tight7.json"
expect_error "bad --drift" "--drift '1.5': expected a relative spread per run in [0, 1)" $sb compare --drift 1.5 "$TMP/tight.json" "$TMP/tight7.json"

# The example CI budgets file loads and applies: lifecycle_ms gated at 5 %.
run_rc 2 "docs/examples/budgets-ci.json: 7 % is a regression at its 5 % threshold" $sb compare --drift 0 --budgets "$SRCDIR/docs/examples/budgets-ci.json" "$TMP/tight.json" "$TMP/tight7.json"

# Host normalisation: the same sandbox on a host 30 % slower (every time metric and the host
# reference 1.3x) is no change; without normalisation it is a regression. A sandbox 30 % slower
# on an unchanged host stays one.
craft "$TMP/h1.json" --metric $M 1 --metric rss_kb KiB 0 100 30 12 1 --host-ref 0.5 13 1
craft "$TMP/h13.json" --metric $M 1.3 --metric rss_kb KiB 0 100 30 12 1 --host-ref 0.5 13 1.3
craft "$TMP/s13.json" --metric $M 1.3 --metric rss_kb KiB 0 100 30 12 1 --host-ref 0.5 13 1
validate "$TMP/h13.json" && ok "report with a host reference is schema-valid" || fail "host-ref report invalid"
run_rc 0 "slower host, same sandbox: ~" $sb compare --drift 0 "$TMP/h1.json" "$TMP/h13.json"
grep -q 'host reference 0\.[0-9]* -> 0\.[0-9]* ms (+30\.0%), time metrics normalised' "$TMP/out" \
	&& ok "table names the host change" || fail "host line: $(cat "$TMP/out")"
grep -q 'lifecycle_ms (p50) .*+0\.0% .* ~' "$TMP/out" && ok "normalised delta is 0" || fail "normalised: $(cat "$TMP/out")"
run_rc 2 "--normalize none: the slower host reads as a regression" $sb compare --drift 0 --normalize none "$TMP/h1.json" "$TMP/h13.json"
run_rc 2 "a budget can turn normalisation off per metric" $sb compare --drift 0 --budgets <(echo '{"schema": "sandbench.budgets/v1", "budgets": [{"metric": "*", "normalize": false}]}') "$TMP/h1.json" "$TMP/h13.json"
run_rc 2 "slower sandbox, same host: regression" $sb compare --drift 0 --json --out "$TMP/norm.json" "$TMP/h1.json" "$TMP/s13.json"
vjson "$TMP/norm.json" && ok "normalised compare JSON validates" || fail "normalised JSON invalid"
/usr/bin/python3 - "$TMP/norm.json" <<'PY' && ok "normalisation recorded" || fail "normalisation record"
import json, sys
c = json.load(open(sys.argv[1]))["comparisons"][0]
h = c["host_reference"]
assert h["normalized"] and abs(h["host_change"]) < 1e-9, h
m = {x["metric"]: x for x in c["metrics"]}
assert m["lifecycle_ms"]["normalized"] and abs(m["lifecycle_ms"]["raw_delta"] - 0.3) < 1e-6, m["lifecycle_ms"]
assert m["rss_kb"]["normalized"] is False and "raw_delta" not in m["rss_kb"], m["rss_kb"]
assert m["lifecycle_ms"]["drift"] is None, m["lifecycle_ms"]["drift"]  # --drift 0: no assumed drift
PY
run_rc 0 "one side without a host reference: compared as measured" $sb compare --drift 0 "$TMP/base.json" "$TMP/h1.json"
grep -q 'off: a baseline run has no host reference' "$TMP/out" && ok "says why it is off" || fail "no reason: $(cat "$TMP/out")"
expect_error "bad --normalize" "--normalize 'cpu': expected host or none" $sb compare --normalize cpu "$TMP/h1.json" "$TMP/h13.json"

# Markdown and JSON.
run_rc 2 "--markdown" $sb compare --markdown "$TMP/base.json" "$TMP/slow.json"
grep -q '^| scenario / driver | metric | baseline | current | delta | p | n | verdict |' "$TMP/out" && \
	grep -q '| \*\*regression\*\* |' "$TMP/out" && ok "markdown table" || fail "markdown: $(cat "$TMP/out")"
run_rc 2 "--json" $sb compare --json "$TMP/base.json" "$TMP/slow.json"
cp "$TMP/out" "$TMP/cmp.json"
vjson "$TMP/cmp.json" && ok "--json validates against docs/compare.schema.json" || fail "compare JSON invalid"
/usr/bin/python3 - "$TMP/cmp.json" <<'PY' && ok "--json contents" || fail "--json contents"
import json, sys
d = json.load(open(sys.argv[1]))
assert list(d)[0] == "schema" and d["schema"] == "sandbench.compare/v1"
assert d["exit_code"] == 2 and d["summary"]["regression"] == 1
m = d["comparisons"][0]["metrics"][0]
assert m["metric"] == "lifecycle_ms" and m["verdict"] == "regression" and m["p"] < 0.01, m
assert m["test"]["p_independent"] < 1e-6, m["test"]
# One run per side: the assumed drift (5 % per run) was checked, value and mix.
assert m["drift"]["source"] == "assumed" and m["drift"]["sigma"] == 0.05 and m["drift"]["p_mix"] < 0.01, m["drift"]
assert abs(m["delta"] - 1.0) < 0.1 and m["baseline"]["n"] == 30
PY
run_rc 2 "--out FILE" $sb compare --out "$TMP/saved.json" "$TMP/base.json" "$TMP/slow.json"
vjson "$TMP/saved.json" && ok "--out validates" || fail "--out invalid"
ls "$TMP" | grep -q '\.tmp' && fail "temp file left" || ok "no temp files"
expect_error "--json with --markdown" "exclusive" $sb compare --json --markdown "$TMP/base.json" "$TMP/slow.json"

# Budgets.
cat > "$TMP/budgets.json" <<'EOF'
{"schema": "sandbench.budgets/v1",
 "budgets": [{"metric": "lifecycle_*", "scenario": "latency-*", "threshold": 1.5},
             {"metric": "rate_*", "ignore": true}]}
EOF
run_rc 0 "budget threshold 150 % lets 2x pass" $sb compare --budgets "$TMP/budgets.json" "$TMP/base.json" "$TMP/slow.json"
grep -q 'lifecycle_ms (p50) .*warn' "$TMP/out" && ok "2x is a warn under a 150 % budget" || fail "budget: $(cat "$TMP/out")"
run_rc 0 "ignored metric never fails" $sb compare --budgets "$TMP/budgets.json" "$TMP/base.json" "$TMP/drop.json"
grep -q 'rate_ops (p50) .*ignored' "$TMP/out" && ok "ignored row" || fail "ignored: $(cat "$TMP/out")"
echo '{"budgets": [{"metric": "x", "treshold": 1}]}' > "$TMP/bad-budgets.json"
expect_error "budgets typo" "budgets[0]: unknown key 'treshold'" $sb compare --budgets "$TMP/bad-budgets.json" "$TMP/base.json" "$TMP/slow.json"

# Bad input.
expect_error "missing file" "baseline $TMP/nope.json: cannot open" $sb compare "$TMP/nope.json" "$TMP/base.json"
echo '{"schema": "sandbench.report/v1", ' > "$TMP/broken.json"
expect_error "malformed JSON" "current $TMP/broken.json: malformed JSON" $sb compare "$TMP/base.json" "$TMP/broken.json"
echo '{"a": 1}' > "$TMP/alien.json"
expect_error "not a report" "no 'schema' member" $sb compare "$TMP/base.json" "$TMP/alien.json"
expect_error "one operand" "expected BASELINE and CURRENT, got 1 operand" $sb compare "$TMP/base.json"
expect_error "bad --on" "--on 'p42'" $sb compare --on p42 "$TMP/base.json" "$TMP/slow.json"
expect_error "bad --threshold" "--threshold 'ten'" $sb compare --threshold ten "$TMP/base.json" "$TMP/slow.json"
expect_error "bad --host-mismatch" "expected warn or error" $sb compare --host-mismatch=maybe "$TMP/base.json" "$TMP/slow.json"
expect_error "option typo" "did you mean '--threshold'" $sb compare --treshold 0.1 "$TMP/base.json" "$TMP/slow.json"
$sb compare --help | grep -q '^usage: sandbench compare' && ok "--help" || fail "--help"
finish
