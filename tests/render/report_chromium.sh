#!/bin/bash
# The report page in a real headless Chromium: it loads with no console error, every chart has
# content on a screenshot, dark mode follows prefers-color-scheme, and the page of a full matrix
# (12 drivers x 50 scenarios, synthetic) stays under 2 MiB and loads cleanly too. Control cases
# show the checks can fail: a page with a broken script, and one with an emptied chart.
. "$SRCDIR/tests/integration/lib.sh"
sb=$SANDBENCH
PY=/usr/bin/python3
CHECK="$PY $SRCDIR/tests/render/page_check.py"
CHROMIUM=$(command -v chromium || command -v chromium-browser) || skip "chromium is not installed (Debian's chromium: bash scripts/deps.sh test)"
$PY -c 'import PIL' 2>/dev/null || skip "python3-pil is not installed (bash scripts/deps.sh test)"
[ -n "${SANDBENCH_AGENT:-}" ] || skip "SANDBENCH_AGENT not set"
export SANDBENCH_CACHE="$TMP/cache"
# A profile of its own in the test's temp dir: nothing of the user's is read or left behind.
chrome() { timeout 120 "$CHROMIUM" --headless --disable-gpu --no-sandbox --hide-scrollbars --no-first-run \
	--user-data-dir="$TMP/profile" --enable-logging=stderr --v=0 "$@"; }
# load PAGE NAME: dump the DOM after load (1300 px wide) with the chart probe; fail on any console
# message or error the page saw. Leaves $TMP/NAME.json (the probe: page height, chart boxes).
load() {
	local page=$1 name=$2
	$CHECK probe "$page" "$TMP/$name.probe.html"
	chrome --window-size=1300,1000 --dump-dom "file://$TMP/$name.probe.html" > "$TMP/$name.dom" 2> "$TMP/$name.err"
	if grep -q 'CONSOLE' "$TMP/$name.err"; then
		echo "console: $(grep CONSOLE "$TMP/$name.err" | head -3)"
		return 1
	fi
	$CHECK dom "$TMP/$name.dom" > "$TMP/$name.json"
}
# shot NAME: a screenshot of the whole page at the probe's height; every chart must have content.
shot() {
	local name=$1 h
	h=$($PY -c 'import json,sys; print(min(16000, json.load(open(sys.argv[1]))["height"]))' "$TMP/$name.json")
	chrome --window-size=1300,"$h" --screenshot="$TMP/$name.png" "file://$TMP/$name.probe.html" > /dev/null 2>&1
	$CHECK blank "$TMP/$name.png" "$TMP/$name.json"
}

drivers=process
$sb drivers --json | $PY -c 'import json,sys; sys.exit(0 if any(d["name"]=="native" and d["usable"] for d in json.load(sys.stdin)) else 1)' \
	&& drivers=process,native
$sb matrix --drivers "$drivers" --scenarios latency-spawn,latency-shell-pool,throughput-stdout --runs 5 --warmup 1 \
	--param size=1M --out "$TMP/m" > /dev/null 2> "$TMP/err" || fail "matrix: $(cat "$TMP/err")"
$sb run latency-spawn --driver process --runs 8 --out "$TMP/a.json" > /dev/null 2>&1
$sb run latency-spawn --driver process --runs 8 --out "$TMP/b.json" > /dev/null 2>&1
$sb compare "$TMP/a.json" "$TMP/b.json" --out "$TMP/cmp.json" > /dev/null 2>&1
$sb paired --baseline-cmd /bin/true --current-cmd /bin/true --pairs 6 --warmup 1 --out "$TMP/paired.json" > /dev/null 2>&1
$PY "$SRCDIR/tests/render/history.py" "$TMP/hist.json"
$sb report --html "$TMP/real.html" "$TMP/m" "$TMP/cmp.json" "$TMP/paired.json" "$TMP/hist.json" \
	|| fail "report of real runs"

load "$TMP/real.html" real && ok "real reports: loads with no console error" || fail "real reports: $(cat "$TMP/real.json")"
out=$(shot real) && ok "real reports: $out" || fail "real reports: $out"
chrome --force-dark-mode --window-size=800,600 --screenshot="$TMP/dark.png" "file://$TMP/real.html" > /dev/null 2>&1
$CHECK dark "$TMP/dark.png" && ok "dark by prefers-color-scheme" || fail "dark mode"
$PY -c 'import sys
from PIL import Image
p = Image.open(sys.argv[1]).convert("RGB").getpixel((2, 2))
sys.exit(0 if sum(p) / 3 > 200 else 1)' "$TMP/real.png" && ok "light by default" || fail "light mode"

# Controls: the checks catch a script error and an empty chart.
sed 's|</body>|<script>noSuchFunction()</script></body>|' "$TMP/real.html" > "$TMP/broken.html"
load "$TMP/broken.html" broken > /dev/null 2>&1 && fail "a script error went unnoticed" || ok "control: a script error is caught"
$PY - "$TMP/real.html" "$TMP/empty.html" <<'PY'
import re, sys
t = open(sys.argv[1], encoding="utf-8").read()
# Empty the first chart: keep the <svg> element and its size, drop everything drawn in it.
t = re.sub(r'(<svg class="chart"[^>]*>).*?(</svg>)', r'\1\2', t, count=1, flags=re.S)
open(sys.argv[2], "w", encoding="utf-8").write(t)
PY
load "$TMP/empty.html" empty > /dev/null 2>&1 || fail "control page did not load"
shot empty > /dev/null 2>&1 && fail "an empty chart went unnoticed" || ok "control: an empty chart is caught"

# A full matrix: 12 drivers x 50 scenarios.
$PY "$SRCDIR/tests/render/synth_matrix.py" "$TMP/full" --drivers 12 --scenarios 50
validate "$TMP/full"/*--process.json > /dev/null && ok "synthetic reports follow the report schema" || fail "synthetic reports invalid"
$sb report --html "$TMP/full.html" "$TMP/full" || fail "report of the full matrix"
size=$(stat -c %s "$TMP/full.html")
[ "$size" -lt $((2 * 1024 * 1024)) ] && ok "full matrix page: $size bytes (< 2 MiB)" || fail "full matrix page: $size bytes"
load "$TMP/full.html" full && ok "full matrix: loads with no console error" || fail "full matrix: $(cat "$TMP/full.json")"
out=$($CHECK sections "$TMP/full.dom") && ok "full matrix: $out" || fail "full matrix: $out"
finish
