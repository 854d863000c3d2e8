#!/bin/bash
# The HTML sink: `run --html FILE` and `matrix --html FILE` write the same self-contained page as
# `sandbench report --html` from the invocation's own results, atomically; it names every scenario
# and driver that ran, and a run where nothing finished writes no page and says so.
. "$SRCDIR/tests/integration/lib.sh"
sb=$SANDBENCH
cd "$TMP"
$sb run latency-spawn throughput-stdout --param size=1M --runs 3 --warmup 0 --no-store --out "$TMP/r" --html "$TMP/run.html" > "$TMP/run.out" 2>&1 ||
	fail "run --html: $(tail -c 400 "$TMP/run.out")"
grep -q "page: $TMP/run.html" "$TMP/run.out" && ok "run says where the page is" || fail "run output: $(cat "$TMP/run.out")"
/usr/bin/python3 - "$TMP/run.html" latency-spawn,throughput-stdout process <<'PY' && ok "run --html: a self-contained page of both scenarios" || fail "run page"
import re, sys
page = open(sys.argv[1]).read()
assert page.lower().startswith("<!doctype html>"), page[:40]
assert "default-src 'none'" in page
assert not re.search(r'(src|href)="(https?:)?//', page), "external reference"
for name in sys.argv[2].split(",") + [sys.argv[3]]:
    assert name in page, name
assert "<svg" in page
PY
$sb matrix --drivers process --scenarios latency-spawn --runs 2 --warmup 0 --no-store --out "$TMP/m" \
	--html "$TMP/matrix.html" > "$TMP/m.out" 2>&1 || fail "matrix --html: $(tail -c 400 "$TMP/m.out")"
grep -q "latency-spawn" "$TMP/matrix.html" 2> /dev/null && ok "matrix --html" || fail "matrix page missing"
ls "$TMP" | grep -q '\.tmp' && fail "temp file left: $(ls "$TMP")" || ok "no temp file left"
# Nothing finished (an unknown parameter is refused before anything runs): no page.
$sb run latency-spawn --param nope=1 --no-store --out "$TMP/x" --html "$TMP/none.html" > /dev/null 2>&1
[ ! -e "$TMP/none.html" ] && ok "no page when nothing ran" || fail "a page was written for nothing"
finish
