#!/bin/bash
# Benchmark (not a test): how often the regression gate cries wolf, and how often it catches a
# real 10 % slowdown, on this machine. TRIALS repeats of each experiment:
#   compare, identical configurations  latency-spawn on process (and native when usable) and
#                                      resource-mem-touch size=16M: one run per side, and three
#                                      runs per side alternating in time (sessions)
#   compare, 10 % more work            resource-mem-touch size=16M vs size=18022K (--allow-mismatch;
#                                      the RSS metric, which grows by construction, is ignored)
#   paired, identical                  latency-spawn on process (and native) against itself;
#                                      a fixed-work busy loop against itself
#   paired, 10 % more work             the busy loop with 10 % more iterations
#                                      (busy loops: --require-significance --max-retries 3)
# Counts exit 2 (regression) and warn verdicts; prints a table and, unless --no-docs, rewrites the
# "Regression gate" section of docs/benchmarks.md (other sections are left alone).
# Goals: identical configurations flagged at most 1 in 50; the 10 % slowdown flagged in >= 45 of 50.
# Usage: bench/gate_false_positive.sh [BUILD_DIR] [TRIALS] [--no-docs]
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
trials=${2:-50}
docs=1
[ "${3:-}" = --no-docs ] && docs=0
sb=$(readlink -f "$build/src/cli/sandbench")
[ -x "$sb" ] || { echo "build first: meson setup $build && ninja -C $build" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
res=$tmp/results.tsv
: > "$res"
start=$(date +%s)

# A fixed amount of integer work per run (not a fixed time), so host contention slows it like it
# slows real code. Calibrated to about 10 ms here.
cat > "$tmp/busy.c" <<'EOF'
#include <stdlib.h>
int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
	volatile unsigned long x = 1;
	for (unsigned long i = 0; i < n; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	return (int)(x & 0);
}
EOF
cc -O1 -o "$tmp/busy" "$tmp/busy.c"
t0=$(date +%s%N); "$tmp/busy" 20000000; t1=$(date +%s%N)
iters=$(( 20000000 * 10000000 / (t1 - t0) ))   # ~10 ms worth
[ "$iters" -gt 1000 ] || iters=20000000
slow=$(( iters + iters / 10 ))

drivers=process
"$sb" drivers 2>/dev/null | grep -Eq '^native +yes' && drivers="process native"

# record EXPERIMENT TRIAL KIND FILE: one line per compare (exit code + verdicts) or paired run.
record_compare() {
	local exp=$1 t=$2 rc=$3 json=$4
	/usr/bin/python3 - "$exp" "$t" "$rc" "$json" >> "$res" <<'PY'
import json, sys
exp, t, rc, path = sys.argv[1:]
try:
    d = json.load(open(path))
    flagged = [f'{m["metric"]}={m["verdict"]}' for c in d["comparisons"] for m in c["metrics"]
               if m["verdict"] in ("regression", "warn")]
    reg = sum(m["verdict"] == "regression" for c in d["comparisons"] for m in c["metrics"])
    warn = sum(m["verdict"] == "warn" for c in d["comparisons"] for m in c["metrics"])
except Exception as e:
    flagged, reg, warn = [f"error: {e}"], 0, 0
print(f"{exp}\t{t}\t{rc}\t{int(reg > 0)}\t{int(reg == 0 and warn > 0)}\t{','.join(flagged)}\t\t")
PY
}
record_paired() {
	local exp=$1 t=$2 rc=$3 json=$4
	/usr/bin/python3 - "$exp" "$t" "$rc" "$json" >> "$res" <<'PY'
import json, sys
exp, t, rc, path = sys.argv[1:]
try:
    d = json.load(open(path))
    a = [x for x in d["analysis"] if x["gated"]][0]
    v = d["verdict"]
    # The same analysis judged with a 5 % threshold (for a 10 % effect the gate would be set there):
    alpha = d["sequential"]["alpha_per_look"]
    sig = a["wilcoxon"] is not None and a["wilcoxon"]["p"] < alpha
    wb = a["worse_by"] or 0.0
    agree = a["wilcoxon"] is not None and (a["wilcoxon"]["w_plus"] - a["wilcoxon"]["w_minus"]) * wb > 0
    lo = a["worse_by_ci"][0] if a["worse_by_ci"][0] is not None else 0.0
    v5 = "regression" if sig and agree and wb >= 0.05 and lo >= 0.025 else "warn" if sig and agree and wb >= 0.025 else "~"
    extra = f'{a["metric"]} {a["change"]:+.4f}'
    # Every metric is analysed whether gated or not: what gating on CPU time would have said.
    u = [x for x in d["analysis"] if x["metric"] == "cpu_ms"]
    vu = u[0]["verdict"] if u else "-"
except Exception as e:
    v, v5, vu, extra = "error", "error", "error", str(e)
print(f"{exp}\t{t}\t{rc}\t{int(v == 'regression')}\t{int(v == 'warn')}\t{extra}\t{v5}\t{vu}")
PY
}

cmp() { # EXPERIMENT TRIAL compare-args...: run compare --fail-on-warn --json and record it
	local exp=$1 t=$2; shift 2
	"$sb" compare --fail-on-warn --json "$@" > "$tmp/c.json" 2>/dev/null
	record_compare "$exp" "$t" $? "$tmp/c.json"
}
prd() { # EXPERIMENT TRIAL paired-args...
	local exp=$1 t=$2; shift 2
	"$sb" paired --json "$@" > "$tmp/p.json" 2>/dev/null
	record_paired "$exp" "$t" $? "$tmp/p.json"
}
echo '{"budgets": [{"metric": "mem_touch_rss_mib", "ignore": true}]}' > "$tmp/mt-budgets.json"
for t in $(seq "$trials"); do
	for d in $drivers; do
		# Three baseline and three current runs of the same configuration, alternating in time
		# (A B A B A B): the first pair is the one-run-per-side compare, all six the sessions one.
		rm -rf "$tmp/A" "$tmp/B"
		mkdir -p "$tmp/A" "$tmp/B"
		for k in 1 2 3; do
			"$sb" run latency-spawn --driver "$d" --runs 30 --out "$tmp/A/$k.json" >/dev/null 2>&1
			"$sb" run latency-spawn --driver "$d" --runs 30 --out "$tmp/B/$k.json" >/dev/null 2>&1
		done
		cmp "compare-spawn-$d" "$t" "$tmp/A/1.json" "$tmp/B/1.json"
		cmp "compare-spawn-$d-3+3sessions" "$t" "$tmp/A" "$tmp/B"
		prd "paired-spawn-$d" "$t" latency-spawn --driver "$d" --pairs 20 --warmup 2
	done
	# mem-touch: baseline (A), an identical configuration (S) and 10 % more memory to touch (X),
	# three runs each, interleaved A S X A S X A S X.
	rm -rf "$tmp/MA" "$tmp/MS" "$tmp/MX"
	mkdir -p "$tmp/MA" "$tmp/MS" "$tmp/MX"
	for k in 1 2 3; do
		"$sb" run resource-mem-touch --param size=16M --runs 30 --out "$tmp/MA/$k.json" >/dev/null 2>&1
		"$sb" run resource-mem-touch --param size=16M --runs 30 --out "$tmp/MS/$k.json" >/dev/null 2>&1
		"$sb" run resource-mem-touch --param size=18022K --runs 30 --out "$tmp/MX/$k.json" >/dev/null 2>&1
	done
	cmp compare-memtouch-same "$t" --budgets "$tmp/mt-budgets.json" "$tmp/MA/1.json" "$tmp/MS/1.json"
	cmp compare-memtouch-same-3+3sessions "$t" --budgets "$tmp/mt-budgets.json" "$tmp/MA" "$tmp/MS"
	cmp compare-memtouch-10pct "$t" --allow-mismatch --budgets "$tmp/mt-budgets.json" "$tmp/MA/1.json" "$tmp/MX/1.json"
	cmp compare-memtouch-10pct-3+3sessions "$t" --allow-mismatch --budgets "$tmp/mt-budgets.json" "$tmp/MA" "$tmp/MX"
	# Fixed-work busy loop: 20 pairs, then up to 3 more looks while not significant.
	seq_opts="--pairs 20 --warmup 2 --require-significance --max-retries 3"
	prd paired-busy-same "$t" --baseline-cmd "$tmp/busy $iters" --current-cmd "$tmp/busy $iters" $seq_opts
	prd paired-busy-10pct "$t" --baseline-cmd "$tmp/busy $iters" --current-cmd "$tmp/busy $slow" $seq_opts
done
elapsed=$(( $(date +%s) - start ))

/usr/bin/python3 - "$res" "$trials" "$elapsed" "$iters" "$docs" "$(uptime | sed 's/.*load average: //')" <<'PY'
import collections, statistics, sys
path, trials, elapsed, iters, docs, load = sys.argv[1:]
rows = collections.OrderedDict()
for line in open(path):
    exp, t, rc, reg, warn, extra, v5, vu = line.rstrip("\n").split("\t")
    r = rows.setdefault(exp, {"n": 0, "reg": 0, "warn": 0, "err": 0, "v5reg": 0, "v5warn": 0, "flags": collections.Counter(),
                              "chg": [], "user": collections.Counter()})
    if vu:
        r["user"][vu] += 1
    r["n"] += 1
    r["reg"] += int(reg)
    r["warn"] += int(warn)
    r["err"] += int(rc) not in (0, 2, 3)
    r["v5reg"] += v5 == "regression"
    r["v5warn"] += v5 == "warn"
    if exp.startswith("paired") and extra and not extra.startswith("error"):
        r["chg"].append(float(extra.split()[1]))
    if exp.startswith("compare"):
        for f in filter(None, extra.split(",")):
            r["flags"][f] += 1
power = lambda e: "10pct" in e
out = []
out.append(f"{'experiment':34} {'runs':>4} {'regression':>10} {'warn':>5} {'errors':>6}  {'at 5% threshold':>15}  notes")
for exp, r in rows.items():
    note = ""
    if r["chg"]:
        note = f"median measured change {statistics.median(r['chg']) * 100:+.1f}%"
    if r["user"] and exp.startswith("paired-busy"):
        note += f"; gated on cpu_ms: {r['user']['regression']} regression, {r['user']['warn']} warn"
    if r["flags"]:
        note = (note + "; " if note else "") + "flagged: " + ", ".join(f"{k} x{v}" for k, v in r["flags"].most_common(4))
    v5 = f"{r['v5reg']} reg, {r['v5warn']} warn" if exp.startswith("paired") else "-"
    out.append(f"{exp:34} {r['n']:>4} {r['reg']:>10} {r['warn']:>5} {r['err']:>6}  {v5:>15}  {note}")
text = "\n".join(out)
print(text)
print(f"\n{trials} trials, {elapsed} s; busy loop {iters} iterations (+10 %: {int(iters) + int(iters) // 10}); load average {load}")
fp = {e: r for e, r in rows.items() if not power(e)}
pw = {e: r for e, r in rows.items() if power(e)}
for e, r in fp.items():
    print(f"false positives {e}: {r['reg']}/{r['n']} regression ({r['reg'] + r['warn']}/{r['n']} with warn) -> goal <= 1/50: {'MET' if r['reg'] * 50 <= r['n'] else 'NOT MET'}")
for e, r in pw.items():
    print(f"power {e}: {r['reg']}/{r['n']} regression, {r['reg'] + r['warn']}/{r['n']} regression or warn"
          + (f", {r['v5reg']}/{r['n']} at a 5 % threshold" if e.startswith("paired") else "")
          + f" -> goal >= 45/50 (regression or warn): {'MET' if (r['reg'] + r['warn']) * 50 >= 45 * r['n'] else 'NOT MET'}")
if docs == "1":
    # Only the generated block between the markers is replaced; the section's prose stays.
    begin, end = "<!-- gate-results:begin -->", "<!-- gate-results:end -->"
    block = f"""{begin}
```
$ bench/gate_false_positive.sh build {trials}
{text}

{trials} trials in {elapsed} s; load average at the end {load}
```
{end}"""
    md = open("docs/benchmarks.md").read()
    if begin in md and end in md:
        md = md[:md.index(begin)] + block + md[md.index(end) + len(end):]
    else:
        md = md.rstrip("\n") + "\n\n## Regression gate\n" + block + "\n"
    open("docs/benchmarks.md", "w").write(md)
    print("docs/benchmarks.md: 'Regression gate' results written")
PY
