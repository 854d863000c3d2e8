#!/bin/bash
# matrix over process, native and bwrap (each that is registered): every report and the summary are
# schema-valid; unusable drivers give SKIP cells with the reason; the table prints a block per
# scenario within 120 columns.
. "$(dirname "$0")/lib.sh"
sb=$SANDBENCH
[ -n "${SANDBENCH_AGENT:-}" ] || skip "SANDBENCH_AGENT not set"
drivers=process
for d in native bwrap; do $sb drivers --json | grep -q "\"name\": \"$d\"" && drivers="$drivers,$d"; done
export SANDBENCH_CACHE="$TMP/cache"
$sb matrix --drivers "$drivers" --scenarios latency-spawn,latency-exec-output,throughput-stdout \
	--runs 3 --warmup 1 --param size=2M --out "$TMP/m" > "$TMP/table.txt" 2> "$TMP/err.txt"
rc=$?
[ $rc -eq 0 ] && ok "matrix over $drivers exit 0" || { fail "matrix exit $rc: $(cat "$TMP/err.txt")"; cat "$TMP/table.txt"; }
validate "$TMP/m"/*--*.json && ok "every report validates" || fail "report schema"
/usr/bin/python3 "$SRCDIR/tests/tools/validate_json.py" "$SRCDIR/docs/matrix.schema.json" "$TMP/m/matrix.json" \
	&& ok "matrix.json validates" || fail "matrix.json schema"
/usr/bin/python3 - "$TMP/m/matrix.json" "$drivers" <<'PY' && ok "summary contents" || fail "summary contents"
import json, pathlib, sys
m = json.load(open(sys.argv[1]))
drivers = sys.argv[2].split(",")
assert [d["name"] for d in m["drivers"]] == drivers
assert len(m["reports"]) == 3 * len(drivers)
base = pathlib.Path(sys.argv[1]).parent
for r in m["reports"]:
    rep = json.loads((base / r["path"]).read_text())
    assert rep["driver"]["name"] == r["driver"] and rep["status"] == r["status"]
    usable = {d["name"]: d["usable"] for d in m["drivers"]}[r["driver"]]
    if usable:
        assert r["status"] == "ok", r
cell = [c for c in m["cells"] if c["scenario"] == "latency-spawn" and c["metric"] == "lifecycle_ms"][0]
assert "process" in cell["values"] and cell["values"]["process"]["n"] == 3
if len(cell["values"]) > 1:
    assert cell["best"] in cell["values"]
PY
# The table: a block per scenario, drivers as rows, headline metrics as columns, within 120 columns.
grep -q '^latency-spawn$' "$TMP/table.txt" && grep -q ' lifecycle_ms' "$TMP/table.txt" \
	&& grep -Eq '^  process +\*?[0-9.]+ \([0-9.]+\)' "$TMP/table.txt" && ok "table block" || fail "table block: $(cat "$TMP/table.txt")"
awk 'length > 120 { bad = 1 } END { exit bad }' "$TMP/table.txt" && ok "table fits 120 columns" || fail "a table line is wider than 120"
[ "$(grep -c '^latency-spawn$\|^latency-exec$\|^throughput-stdout$' "$TMP/table.txt")" -eq 3 ] \
	&& ok "one block per scenario" || fail "blocks: $(cat "$TMP/table.txt")"

# A driver that cannot run here becomes SKIP cells with its probe reason, not a failure.
$sb matrix --drivers process --scenarios throughput --runs 1 --param size=1M --out "$TMP/m2" > /dev/null \
	&& ok "matrix by axis" || fail "matrix by axis"
expect_error "matrix unknown driver" "unknown driver 'proces'" $sb matrix --drivers proces
expect_error "matrix unknown scenario" "unknown scenario 'latency-spwan'" $sb matrix --scenarios latency-spwan
finish
