#!/bin/bash
# sandbench report on real reports (a small matrix on process and native, a compare of two real
# runs, a real paired A/B) and a crafted history: one self-contained page and its Markdown twin,
# written atomically; bad inputs get one error line.
. "$SRCDIR/tests/integration/lib.sh"
sb=$SANDBENCH
[ -n "${SANDBENCH_AGENT:-}" ] || skip "SANDBENCH_AGENT not set"
export SANDBENCH_CACHE="$TMP/cache"
drivers=process
$sb drivers --json | /usr/bin/python3 -c 'import json,sys; sys.exit(0 if any(d["name"]=="native" and d["usable"] for d in json.load(sys.stdin)) else 1)' \
	&& drivers=process,native
$sb matrix --drivers "$drivers" --scenarios latency-spawn,latency-shell-pool,throughput-stdout --runs 5 --warmup 1 \
	--param size=1M --out "$TMP/m" > /dev/null 2> "$TMP/err" || fail "matrix: $(cat "$TMP/err")"
$sb run latency-spawn --driver process --runs 8 --out "$TMP/a.json" > /dev/null 2>&1 || fail "run a"
$sb run latency-spawn --driver process --runs 8 --out "$TMP/b.json" > /dev/null 2>&1 || fail "run b"
$sb compare "$TMP/a.json" "$TMP/b.json" --out "$TMP/cmp.json" > /dev/null 2>&1
[ -s "$TMP/cmp.json" ] || fail "compare wrote nothing"
$sb paired --baseline-cmd /bin/true --current-cmd /bin/true --pairs 6 --warmup 1 --out "$TMP/paired.json" > /dev/null 2>&1
[ -s "$TMP/paired.json" ] || fail "paired wrote nothing"
/usr/bin/python3 "$SRCDIR/tests/render/history.py" "$TMP/hist.json"

mkdir "$TMP/out"
$sb report --html "$TMP/out/page.html" --markdown "$TMP/out/page.md" "$TMP/m" "$TMP/cmp.json" "$TMP/paired.json" \
	"$TMP/hist.json" 2> "$TMP/err" && ok "report exit 0" || fail "report: $(cat "$TMP/err")"
[ "$(ls "$TMP/out")" = "$(printf 'page.html\npage.md')" ] && ok "only the two files, no temp file left" \
	|| fail "output dir: $(ls "$TMP/out")"
p=$TMP/out/page.html
# Self-contained: no URL to load anything from, every script inline, network forbidden by CSP.
if grep -Eq '(src|href)="(https?:)?//' "$p" || grep -Eq '<script[^>]* src=' "$p" || grep -q '<link' "$p"; then
	fail "the page refers to something outside itself"
else
	ok "no external reference"
fi
grep -q "Content-Security-Policy content=\"default-src 'none'" "$p" && ok "CSP forbids loads" || fail "no CSP"
for want in 'id="s-latency-spawn"' 'id="s-latency-shell-pool"' 'id=compare' 'id=paired' 'id=history' 'id=meta' \
	'class="chart"' 'prefers-color-scheme:dark' 'table class=sort' 'breakpoint curve' 'phases: the p50' \
	'change points' 'process' 'hostname_hash'; do
	grep -q -- "$want" "$p" || fail "page lacks $want"
done
ok "page has every section"
# The numbers on the page are the report's: lifecycle_ms p50 of process, as the page formats it.
want=$(/usr/bin/python3 -c '
import json,sys
r=json.load(open(sys.argv[1]))
a=[x for x in r["aggregates"] if x["metric"]=="lifecycle_ms"][0]
print("%.4g" % a["p50"])' "$TMP/m/latency-spawn--process.json")
grep -q "<td>$want<" "$p" && ok "lifecycle_ms p50 $want on the page" || fail "lifecycle_ms p50 $want missing"
m=$TMP/out/page.md
for want in '^# sandbench report' '^## latency-spawn' '^| driver | lifecycle_ms (ms, lower is better)' '^## Compare: ' \
	'^## Paired: ' '^## History' '▁' '+25% at run' '^## Host and tool' '<details>'; do
	grep -q -- "$want" "$m" || fail "markdown lacks $want"
done
ok "markdown has every section"
$sb report --markdown - "$TMP/hist.json" | grep -q '^| latency-spawn | native | lifecycle_ms | ms |' \
	&& ok "markdown to stdout" || fail "markdown to stdout"
# A matrix whose report files are gone still renders, from the summary's cells.
mkdir "$TMP/m2" && cp "$TMP/m/matrix.json" "$TMP/m2/"
$sb report --html "$TMP/m2.html" "$TMP/m2" && grep -q 'p50, p99 and n only' "$TMP/m2.html" \
	&& ok "summary without its reports" || fail "summary without its reports"

# Bad input: one line naming what is wrong, exit 1, nothing written.
echo '{"schema": "sandbench.report/v1",' > "$TMP/bad.json"
echo '{"schema": "something/v1"}' > "$TMP/other.json"
echo '{"schema": "sandbench.history/v1", "series": [{"scenario": "s", "driver": "d", "metric": "m", "points": [{"t": 1}]}]}' > "$TMP/h2.json"
expect_error "report without output" "say where to write" $sb report "$TMP/a.json"
expect_error "report without input" "no input given" $sb report --html "$TMP/x.html"
expect_error "report missing file" "cannot open" $sb report --html "$TMP/x.html" "$TMP/none.json"
expect_error "report malformed" "malformed JSON" $sb report --html "$TMP/x.html" "$TMP/bad.json"
expect_error "report unknown schema" "schema 'something/v1' is not one report reads" $sb report --html "$TMP/x.html" "$TMP/other.json"
expect_error "history point without value" "series[0]: points[0].value is missing" $sb report --html "$TMP/x.html" "$TMP/h2.json"
expect_error "report --html -" "--html needs a file name" $sb report --html - "$TMP/a.json"
expect_error "report unknown flag" "unknown option" $sb report --hmtl x "$TMP/a.json"
[ ! -e "$TMP/x.html" ] && ok "nothing written on bad input" || fail "x.html written"
finish
