#!/bin/bash
# The results store's speed: importing 100,000 samples (1,000 reports of 100 samples) into SQLite
# and into PostgreSQL (a throwaway cluster, when the server is installed), and querying one metric's
# history over those 1,000 runs (goal: under 50 ms from SQLite), with and without change points.
# Run under the bench lock:  flock /tmp/sandbench-bench.lock bash bench/store.sh
set -u
cd "$(dirname "$0")/.."
SRCDIR=$PWD
SANDBENCH=${SANDBENCH:-$PWD/build/src/cli/sandbench}
[ -x "$SANDBENCH" ] || { echo "build first (ninja -C build), or set SANDBENCH" >&2; exit 1; }
. tests/integration/lib.sh
. tests/store/pg_lib.sh
sb=$SANDBENCH
export SANDBENCH_STORE=off
RUNS=1000 SAMPLES=100

/usr/bin/python3 - "$TMP/reports" "$RUNS" "$SAMPLES" <<'PY'
# 1,000 reports of one scenario+driver, a day apart, with a 10 % step at run 700.
import json, os, random, sys
sys.path.insert(0, "tests/compare")
import craft
out, runs, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out)
g = random.Random(1)
for k in range(runs):
    level = 1.0 if k < 700 else 1.1
    v = [level * (1 + 0.1 * (g.random() - 0.5)) for _ in range(n)]
    ref = [0.5 * (1 + 0.1 * (g.random() - 0.5)) for _ in range(n)]
    t = 1767225600 + 86400 * k
    stamp = "%04d-%02d-%02dT10:00:00Z" % tuple(__import__("time").gmtime(t)[:3])
    r = {"schema": "sandbench.report/v1", "tool": {"name": "sandbench", "version": "0.1.0", "git": "bench"},
         "run": {"id": "%032x" % g.getrandbits(128), "started_at": stamp, "ended_at": stamp, "host": craft.host({})},
         "scenario": {"name": "latency-spawn", "axis": "latency", "params": {"work": "0"}},
         "driver": {"name": "process", "version": "1.0"}, "config": {"runs": n, "warmup": 0, "timeout": 60},
         "status": "ok",
         "samples": [{"iteration": i, "warmup": False, "metrics": {"lifecycle_ms": v[i]}, "host_ref_ms": ref[i]}
                     for i in range(n)],
         "aggregates": [craft.aggregate("lifecycle_ms", "ms", False, v)], "tags": {}}
    json.dump(r, open("%s/r%04d.json" % (out, k), "w"))
PY
echo "== $RUNS reports x $SAMPLES samples = $((RUNS * SAMPLES)) samples, on $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"

timed() { # timed LABEL cmd...: wall seconds of one run
	local label=$1; shift
	local t0=$(date +%s.%N)
	"$@" > "$TMP/timed.out" 2>&1 || { echo "$label: failed"; cat "$TMP/timed.out"; return 1; }
	local t1=$(date +%s.%N)
	printf '%-52s %8.2f s\n' "$label" "$(echo "$t1 - $t0" | bc)"
}

DB=$TMP/history.db
timed "import 100,000 samples into SQLite (fresh store)" $sb history import --store "$DB" "$TMP/reports"
timed "import the same again (nothing to add)" $sb history import --store "$DB" "$TMP/reports"
printf '%-52s %8s\n' "SQLite file size" "$(du -h "$DB" | cut -f1)"

# The query: one metric over the 1,000 runs. The process itself (start, open, migrate check) is
# part of what a user waits for, so the whole command is timed, by hyperfine when present.
Q=(history --store "$DB" --scenario latency-spawn --driver process --metric lifecycle_ms --limit 0 --json)
if command -v hyperfine >/dev/null; then
	hyperfine -N --warmup 3 --runs 30 --export-json "$TMP/hf.json" "$sb ${Q[*]} --no-changes" "$sb ${Q[*]}" \
		> /dev/null 2>&1
	/usr/bin/python3 - "$TMP/hf.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    what = "with change points" if "--no-changes" not in r["command"] else "no change points"
    print("%-52s %8.1f ms (median of %d, min %.1f)" % ("history of 1,000 runs from SQLite, " + what,
          1000 * r["median"], len(r["times"]), 1000 * r["min"]))
PY
else
	timed "history of 1,000 runs from SQLite, no change points" $sb "${Q[@]}" --no-changes
	timed "history of 1,000 runs from SQLite, with change points" $sb "${Q[@]}"
fi
$sb "${Q[@]}" > "$TMP/q.json"
/usr/bin/python3 - "$TMP/q.json" <<'PY'
import json, sys
s, = json.load(open(sys.argv[1]))["series"]
cps = ", ".join("run %d (%+.1f %%, p = %.3f)" % (c["index"], 100 * c["change"], c["p"]) for c in s["change_points"])
print("  %d points; change points: %s (the step is at run 700, +10 %%)" % (len(s["points"]), cps or "none"))
PY

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; }; then
	echo "PostgreSQL part skipped: no server binaries (Debian package postgresql) or no postgres user"
else
	pg_start
	URI="postgresql:///postgres?host=$PGDIR&user=postgres"
	timed "import 100,000 samples into PostgreSQL (fresh store)" $sb history import --store "$URI" "$TMP/reports"
	timed "import the same again (nothing to add)" $sb history import --store "$URI" "$TMP/reports"
	timed "history of 1,000 runs from PostgreSQL, no changes" $sb history --store "$URI" --scenario latency-spawn \
		--driver process --metric lifecycle_ms --limit 0 --json --no-changes
fi
