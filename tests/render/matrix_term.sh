#!/bin/bash
# The terminal matrix: a 12-driver matrix (synthetic, 50 scenarios) prints in blocks that fit 120
# columns, drivers as rows, the best of each column marked; a real small matrix too.
. "$SRCDIR/tests/integration/lib.sh"
sb=$SANDBENCH
PY=/usr/bin/python3
$PY "$SRCDIR/tests/render/synth_matrix.py" "$TMP/full" --drivers 12 --scenarios 50
unset COLUMNS
$sb show "$TMP/full/matrix.json" > "$TMP/t.txt" || fail "show matrix.json"
$PY - "$TMP/t.txt" "$TMP/full/matrix.json" <<'PY' && ok "12 drivers: every line <= 120 columns, a block per scenario" || fail "layout"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
m = json.load(open(sys.argv[2]))
wide = [l for l in lines if len(l) > 120]
assert not wide, "%d lines over 120 columns: %r" % (len(wide), wide[:2])
assert max(len(l) for l in lines) > 100, "the width is not used"
drivers = [d["name"] for d in m["drivers"]]
scenarios = list(dict.fromkeys(r["scenario"] for r in m["reports"]))
assert lines[0].startswith("cells: p50 (p99)"), lines[0]
titles = [l for l in lines[1:] if l and not l.startswith(" ") and l != "not measured:"]
assert titles == scenarios, titles[:3]
for d in drivers:
    rows = [l for l in lines[:lines.index("not measured:")] if l.startswith("  %s " % d)]
    assert len(rows) == len(scenarios), (d, len(rows))
# The best cell of each column is marked: process is best everywhere in the synthetic matrix.
assert all("*" in l for l in lines if l.startswith("  process ")), "process rows lack the best mark"
assert not any("*" in l for l in lines if l.startswith("  native ")), "a non-best cell is marked"
# The unusable driver says so, once per block, and its reason is listed once at the end.
assert sum(1 for l in lines if l.startswith("  %s " % drivers[-1]) and "not usable here (why: below)" in l) == len(scenarios)
assert sum(1 for l in lines if l.startswith("  %s (50 scenarios): skip" % drivers[-1])) == 1
PY
grep -q '^  + 1 more: density_max_concurrency_before_p95_doubles$' "$TMP/t.txt" && ok "columns left out are named" \
	|| fail "no '+ 1 more' line"
COLUMNS=80 $sb show "$TMP/full/matrix.json" | awk 'length > 80 { bad = 1 } END { exit bad }' \
	&& ok "COLUMNS=80 is honoured" || fail "COLUMNS=80: a line is wider"
# A real matrix on process prints the same layout.
[ -n "${SANDBENCH_AGENT:-}" ] || skip "SANDBENCH_AGENT not set"
$sb matrix --drivers process --scenarios latency-spawn --runs 3 --out "$TMP/m" > "$TMP/real.txt" 2>&1 || fail "matrix"
grep -q '^latency-spawn$' "$TMP/real.txt" && grep -q ' lifecycle_ms' "$TMP/real.txt" \
	&& grep -Eq '^  process +[0-9.]+ \([0-9.]+\)' "$TMP/real.txt" && ok "real matrix block" || fail "real: $(cat "$TMP/real.txt")"
finish
