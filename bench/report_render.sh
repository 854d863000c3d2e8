#!/bin/bash
# Benchmark (not a test): the HTML report of a full matrix (12 drivers x 50 scenarios, synthetic,
# tests/render/synth_matrix.py) — how long sandbench takes to write it, how big it is, and how long
# headless Chromium takes to render it. Goal: under 1 s in Chromium.
# Two figures for the browser, in interleaved rounds: the page's own clock (navigation start to the
# load event with the whole page styled and laid out, read by an appended script), and the wall time of
# a full screenshot (parse, layout and paint) minus that of a blank page, so Chromium's start-up is
# not counted. Run it under the bench lock:
#   flock /tmp/sandbench-bench.lock bash bench/report_render.sh [BUILD_DIR] [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-5}
sb=$build/src/cli/sandbench
[ -x "$sb" ] || { echo "build first: meson setup $build && ninja -C $build" >&2; exit 1; }
CHROMIUM=$(command -v chromium || command -v chromium-browser) || { echo "chromium is missing (bash scripts/deps.sh test)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chrome() { "$CHROMIUM" --headless --disable-gpu --no-sandbox --hide-scrollbars --no-first-run \
	--user-data-dir="$tmp/profile" "$@" 2> /dev/null; }
now() { date +%s%N; }

/usr/bin/python3 tests/render/synth_matrix.py "$tmp/full" --drivers 12 --scenarios 50
gen=()
for r in $(seq "$rounds"); do
	t0=$(now); "$sb" report --html "$tmp/full.html" "$tmp/full"; t1=$(now)
	gen+=("$(( (t1 - t0) / 1000000 ))")
done
size=$(stat -c %s "$tmp/full.html")
# The page's own clock: performance.now() at the load event after forcing layout of the whole page.
sed 's|</body>|<script>addEventListener("load",function(){document.documentElement.offsetHeight;var p=document.createElement("pre");p.id="t";p.textContent=performance.now().toFixed(1);document.body.appendChild(p)})</script></body>|' \
	"$tmp/full.html" > "$tmp/timed.html"
echo '<!doctype html><title>blank</title><p>blank' > "$tmp/blank.html"
inpage=() shot=() blank=()
for r in $(seq "$rounds"); do
	chrome --window-size=1300,1000 --dump-dom "file://$tmp/timed.html" > "$tmp/dom"
	inpage+=("$(sed -n 's|.*<pre id="t">\([0-9.]*\)</pre>.*|\1|p' "$tmp/dom")")
	t0=$(now); chrome --window-size=1300,1000 --screenshot="$tmp/b.png" "file://$tmp/blank.html" > /dev/null; t1=$(now)
	chrome --window-size=1300,1000 --screenshot="$tmp/f.png" "file://$tmp/full.html" > /dev/null; t2=$(now)
	blank+=("$(( (t1 - t0) / 1000000 ))")
	shot+=("$(( (t2 - t1) / 1000000 ))")
done
/usr/bin/python3 - "${gen[*]}" "$size" "${inpage[*]}" "${blank[*]}" "${shot[*]}" <<'PY'
import statistics, sys
gen, size = [float(x) for x in sys.argv[1].split()], int(sys.argv[2])
inpage = [float(x) for x in sys.argv[3].split()]
blank = [float(x) for x in sys.argv[4].split()]
shot = [float(x) for x in sys.argv[5].split()]
extra = [s - b for s, b in zip(shot, blank)]
f = lambda xs: " ".join("%.0f" % x for x in xs)
print("full matrix: 12 drivers x 50 scenarios, %d rounds" % len(gen))
print("sandbench report --html (ms):           %s   median %.0f" % (f(gen), statistics.median(gen)))
print("page size: %d bytes (%.2f MiB; limit 2 MiB)" % (size, size / 2 ** 20))
print("in page, navigation -> load+layout (ms): %s   median %.0f" % (f(inpage), statistics.median(inpage)))
print("screenshot wall, blank page (ms):        %s   median %.0f" % (f(blank), statistics.median(blank)))
print("screenshot wall, report page (ms):       %s   median %.0f" % (f(shot), statistics.median(shot)))
print("report minus blank (ms):                 %s   median %.0f" % (f(extra), statistics.median(extra)))
worst = max(statistics.median(inpage), statistics.median(extra))
print("goal: render in Chromium < 1000 ms ->", "MET" if worst < 1000 else "NOT MET", "(%.0f ms)" % worst)
PY
