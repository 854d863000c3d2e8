#!/bin/bash
# The latency axis (issue 10) with small parameters: every latency scenario on the process driver,
# and on native where it can run here. Each report validates; an ok one carries every metric its
# scenario declares, in the declared unit, with plausible values (times positive, the start phases
# adding up to total_ms within 5 %, TTI percentiles ordered, success rate 1); a skip carries its
# reason. Cold starts leave no private rootfs behind; the old name latency-exec-output still runs.
. "$(dirname "$0")/lib.sh"
sb=$SANDBENCH
[ -n "${SANDBENCH_AGENT:-}" ] || skip "SANDBENCH_AGENT not set"
export SANDBENCH_CACHE="$TMP/cache"
$sb list --json > "$TMP/list.json" || fail "list --json"
scenarios=$(/usr/bin/python3 -c 'import json,sys; print(" ".join(s["name"] for s in json.load(open(sys.argv[1])) if s["axis"] == "latency" and s["name"] not in ("latency-spawn", "latency-shell-pool")))' "$TMP/list.json")
snaps_before=$(ls /var/tmp | grep '^sandbench-snap-' | sort)
small=(--param n=4 --param boxes=4 --param files=200 --param size=2M --param sleep=0.02 --param mode=burst)

check() { # check DIR DRIVER: the reports of one driver
	/usr/bin/python3 - "$1" "$2" "$TMP/list.json" <<'PY'
import json, math, pathlib, sys
d, drv = pathlib.Path(sys.argv[1]), sys.argv[2]
decl = {s["name"]: {m["name"]: m for m in s["metrics"]} for s in json.load(open(sys.argv[3]))}
ok = skipped = 0
for f in sorted(d.glob("*.json")):
    r = json.loads(f.read_text())
    name, status = r["scenario"]["name"], r["status"]
    assert r["driver"]["name"] == drv, f
    if status == "skip":
        assert r.get("reason"), (name, "skip without a reason")
        skipped += 1
        print(f"  {name}: skip: {r['reason']}")
        continue
    assert status == "ok", (name, status, r.get("reason"))
    ok += 1
    aggs = {a["metric"]: a for a in r["aggregates"]}
    assert set(aggs) == set(decl[name]), (name, "metrics", sorted(aggs), sorted(decl[name]))
    for m, a in aggs.items():
        assert a["unit"] == decl[name][m]["unit"], (name, m, a["unit"])
        assert a["higher_is_better"] == decl[name][m]["higher_is_better"], (name, m)
        # 0 is plausible: start where create leaves the box running, prepare with nothing to do
        floor = 0 if m in ("start_ms", "prepare_ms", "destroy_ms") else 1e-6
        assert a["min"] >= floor and math.isfinite(a["max"]), (name, m, a["min"], a["max"])
        if a["unit"] == "ms":
            assert a["max"] < 60000, (name, m, a["max"])
    samples = [s["metrics"] for s in r["samples"] if s["metrics"]]
    if "total_ms" in aggs:
        for s in samples:
            parts = s["prepare_ms"] + s["create_ms"] + s["start_ms"] + s["first_exec_ms"]
            # the phases are sub-intervals of the total, so never more than it; what lies between
            # them (tracking the box, a preemption on a busy host) is bookkeeping, small but not
            # always under 5% of a 1 ms start under ASan
            gap = s["total_ms"] - parts
            assert -0.01 <= gap <= max(0.05 * s["total_ms"], 1.0), (name, "phases", parts, s["total_ms"])
    if name == "latency-tti":
        for s in samples:
            assert s["tti_p50_ms"] <= s["tti_p95_ms"] <= s["tti_p99_ms"] <= s["wall_ms"] * 1.0001, (name, s)
            assert s["first_ready_ms"] <= s["wall_ms"] and s["success_rate"] == 1, (name, s)
        series = r.get("series")
        tti = [e for e in series or [] if e["name"] == "tti_ms"]
        assert len(tti) == len(r["samples"]) and all(len(e["points"]) == 4 and e["unit"] == "ms" for e in tti), (name, series)
    if name == "latency-first-byte":
        for s in samples:  # the command sleeps 20 ms after its first byte
            assert s["first_byte_ms"] + 15 <= s["exec_ms"], (name, s)
    if name == "latency-start-big-image":
        big = pathlib.Path(r["tags"]["big_image"])
        assert len(list(big.glob("data/*/f*"))) == 200, big
print(f"  {drv}: {ok} ok, {skipped} skipped")
PY
}

# process: what a bare spawn can do; the rest skips with the driver's reason
$sb run $scenarios --driver process --runs 3 --warmup 1 "${small[@]}" --keep-series --out "$TMP/p" \
	> "$TMP/p.txt" 2> "$TMP/p.err" && ok "process: run exit 0" || fail "process run: $(tail -5 "$TMP/p.err")"
validate "$TMP/p" >/dev/null && ok "process: reports validate" || fail "process: schema"
check "$TMP/p" process && ok "process: metrics declared and plausible" || fail "process: report contents"
grep -q 'latency-stop .*SKIP: unsupported by process: box_stop' "$TMP/p.txt" && ok "process: stop skips with the reason" \
	|| fail "process: stop skip reason: $(grep latency-stop "$TMP/p.txt")"

# the old name runs the renamed scenario
$sb run latency-exec-output --runs 2 --warmup 0 --out "$TMP/alias.json" > /dev/null 2>&1 &&
	[ "$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["scenario"]["name"])' "$TMP/alias.json")" = latency-exec ] \
	&& ok "latency-exec-output is an alias of latency-exec" || fail "alias"
/usr/bin/python3 - "$TMP/list.json" <<'PY' && ok "names and aliases unique" || fail "names and aliases"
import json, sys
cat = json.load(open(sys.argv[1]))
names = [s["name"] for s in cat] + [a for s in cat for a in s["aliases"]]
assert len(names) == len(set(names)), names
assert "latency-exec-output" in next(s for s in cat if s["name"] == "latency-exec")["aliases"]
PY
# the full profile makes a burst of 100 (profile_params); named alone it stays at 10
$sb run --profile full --driver process --runs 1 --warmup 0 --keep-series --out "$TMP/full" > /dev/null 2>&1
$sb run latency-tti --driver process --runs 1 --warmup 0 --keep-series --out "$TMP/named.json" > /dev/null 2>&1
/usr/bin/python3 - "$TMP/full" "$TMP/named.json" <<'PY' && ok "tti: n=100 in the full profile, 10 named alone" || fail "tti profile default"
import json, pathlib, sys
full = json.loads(next(pathlib.Path(sys.argv[1]).glob("latency-tti--*.json")).read_text())
named = json.loads(open(sys.argv[2]).read())
for r, n in ((full, 100), (named, 10)):
    assert r["status"] == "ok" and r["scenario"]["params"]["n"] == str(n), r["scenario"]
    assert len(r["series"][0]["points"]) == n, len(r["series"][0]["points"])
PY
expect_error "tti bad mode" "parameter mode=fast" $sb run latency-tti --param mode=fast --runs 1 --out "$TMP/bad"
expect_error "tti bad settle" "parameter settle=-1" $sb run latency-tti --param settle=-1 --runs 1 --out "$TMP/bad"
# The settle pause comes before every iteration but the first: three iterations, two pauses.
t0=$(date +%s%N)
$sb run latency-tti --driver process --runs 2 --warmup 1 --param n=2 --param settle=0.6 --out "$TMP/settle" \
	> /dev/null 2>&1 || fail "tti settle: run failed"
ms=$((($(date +%s%N) - t0) / 1000000))
[ $ms -ge 1200 ] && /usr/bin/python3 -c '
import json, pathlib, sys
r = json.loads(next(pathlib.Path(sys.argv[1]).glob("latency-tti--*.json")).read_text())
assert r["status"] == "ok" and r["tags"]["tti_settle_s"] == "0.6", r["tags"]
' "$TMP/settle" && ok "tti: settle pauses between iterations, said in the tags" ||
	fail "tti settle: $ms ms for 2 pauses of 0.6 s, or tag missing"

# native, where it runs here (root, namespaces)
if $sb drivers --json | /usr/bin/python3 -c 'import json,sys; sys.exit(0 if any(d["name"] == "native" and d["usable"] for d in json.load(sys.stdin)) else 1)'; then
	$sb run $scenarios --driver native --runs 3 --warmup 1 "${small[@]}" --keep-series --out "$TMP/n" \
		> "$TMP/n.txt" 2> "$TMP/n.err" && ok "native: run exit 0" || fail "native run: $(tail -5 "$TMP/n.err")"
	validate "$TMP/n" >/dev/null && ok "native: reports validate" || fail "native: schema"
	check "$TMP/n" native && ok "native: metrics declared and plausible" || fail "native: report contents"
	for s in latency-cold-start latency-clone latency-snapshot latency-inspect-list latency-tti latency-start-jailed; do
		grep -q "^$s .*native .*_ms" "$TMP/n.txt" || fail "native: $s did not measure: $(grep "^$s " "$TMP/n.txt" | head -1)"
	done
	ok "native: cold start, clone, snapshot, inspect-list, tti, jailed measured"
	for m in staggered sequential; do
		$sb run latency-tti --driver native --runs 1 --warmup 0 --param n=3 --param mode=$m --param stagger=0.05 \
			--out "$TMP/tti-$m.json" > /dev/null 2>&1 && ok "native: tti mode=$m" || fail "native: tti mode=$m"
	done
	/usr/bin/python3 -c 'import json,sys; w=[s["metrics"]["wall_ms"] for s in json.load(open(sys.argv[1]))["samples"]]; sys.exit(0 if w[0] >= 100 else 1)' \
		"$TMP/tti-staggered.json" && ok "staggered: 3 boxes 50 ms apart take >= 100 ms" || fail "staggered wall time"
else
	echo "native not usable here: its half is not run"
fi
ls -a "$TMP/cache" | grep -q cold && fail "a cold start's private rootfs was left behind" || ok "no private rootfs left"
[ "$(ls /var/tmp | grep '^sandbench-snap-' | sort)" = "$snaps_before" ] && ok "no snapshot left" \
	|| fail "snapshot directories left in /var/tmp"
finish
