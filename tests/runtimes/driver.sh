#!/bin/bash
# One runtime driver end to end (driver.sh DRIVER): exec output and exit status, three scenarios
# whose reports validate, the shell pool through the agent, nothing left behind (containers, bundles, state dirs, cgroups, mounts,
# sandbox processes), and after a SIGKILL mid-run `sandbench doctor --clean` leaves nothing either.
# The cmd driver runs docs/examples/cmd-bwrap.conf. Exit 77 when the runtime cannot run here.
. "$SRCDIR/tests/integration/lib.sh"
drv=${1:?usage: driver.sh DRIVER}
sb=$SANDBENCH
[ -n "${SANDBENCH_AGENT:-}" ] || skip "SANDBENCH_AGENT not set"
[ "$(id -u)" -eq 0 ] || skip "runtime tests need root"

params=()
if [ "$drv" = cmd ]; then
	conf="$SRCDIR/docs/examples/cmd-bwrap.conf"
	params=(--param "config=$conf")
	export SANDBENCH_CMD_CONFIG=$conf # lets the driver's probe run the config's probe command
fi

# The probe decides: a runtime that is missing or refuses to start here is a SKIP with its reason.
# (`sandbench exec` probes just this driver; `sandbench drivers` would probe them all.)
probe_driver() {
	local err
	if err=$($sb exec --driver "$drv" "${params[@]}" -- true 2>&1 >/dev/null); then
		echo ok
	else
		case $err in
		*"unknown driver"*) echo "missing: driver not compiled in" ;;
		*"is not usable here: "*) echo "unusable: ${err#*is not usable here: }" ;;
		*) echo "error: $err" ;;
		esac
	fi
}
probe=$(probe_driver)
# A host fix the runtime needs is applied only when asked (CI=true or SANDBENCH_PREPARE_HOST=1),
# printed, and undone at the end.
restore_host=
case $probe in
*"--prepare-host"*)
	if [ "${CI:-}" = true ] || [ "${SANDBENCH_PREPARE_HOST:-}" = 1 ]; then
		echo "$drv: $probe"
		echo "applying the host fix (sandbench doctor --prepare-host --drivers $drv):"
		$sb doctor --prepare-host --drivers "$drv" | sed 's/^/  | /'
		restore_host=1
		probe=$(probe_driver)
	fi ;;
esac
undo_host() {
	[ -n "$restore_host" ] || return 0
	echo "restoring the host (sandbench doctor --restore-host --drivers $drv):"
	# Other runtimes may have made cgroups in the moved hierarchy meanwhile: then it stays.
	$sb doctor --restore-host --drivers "$drv" 2>&1 | sed 's/^/  | /'
}
trap 'undo_host; rm -rf "$TMP"' EXIT
case $probe in
ok) ok "probe: $drv usable" ;;
error:*) fail "$drv: $probe"; finish ;;
*) skip "$drv: $probe" ;;
esac

# Everything a box of these drivers could leave behind, one item per line.
snapshot() {
	{
		command -v crun >/dev/null && crun list -q 2>/dev/null | sed 's/^/crun-container /'
		command -v runc >/dev/null && runc list -q 2>/dev/null | sed 's/^/runc-container /'
		ls -1 /run/sandbench/oci /run/sandbench/cmd 2>/dev/null | grep -v ':$' | grep . | sed 's/^/state /'
		find /sys/fs/cgroup -mindepth 1 -maxdepth 6 -type d -name 'sandbench-*' 2>/dev/null | sed 's/^/cgroup /'
		awk '$5 ~ "^/run/sandbench/" {print "mount " $5}' /proc/self/mountinfo
		# sandboxes of owners that are gone (bwrap and the cmd example carry SANDBENCH_BOX)
		for p in $(pgrep -f 'SANDBENCH_BOX' 2>/dev/null); do
			[ "$p" = $$ ] || echo "process $(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | cut -c1-80)"
		done
	} | sort
}
# Lines in $2 that are not in $1.
new_items() { comm -13 "$1" "$2"; }

snapshot > "$TMP/before"

# exec: stdout, exit status, stdin passthrough
out=$($sb exec --driver "$drv" "${params[@]}" -- echo hi 2> "$TMP/exec.err")
[ "$out" = hi ] && ok "exec echo hi" || fail "exec printed '$out': $(cat "$TMP/exec.err")"
$sb exec --driver "$drv" "${params[@]}" -- sh -c 'exit 7' 2>/dev/null; rc=$?
[ $rc -eq 7 ] && ok "exec exit status" || fail "exec exit status $rc, expected 7"
[ "$(echo piped | $sb exec --driver "$drv" "${params[@]}" -- cat 2>/dev/null)" = piped ] && ok "exec stdin" || fail "exec stdin"
# isolation: the sandbox sees the standard rootfs, not the host's
$sb exec --driver "$drv" "${params[@]}" -- test -x /sandbench-agent 2>/dev/null && ok "rootfs has the agent" || fail "no /sandbench-agent inside"
$sb exec --driver "$drv" "${params[@]}" -- test -e "$SRCDIR/README.md" 2>/dev/null && fail "host files visible inside" || ok "host files hidden"

# three scenarios, schema-valid and ok
t0=$(date +%s.%N)
$sb run latency-spawn latency-exec-output throughput-stdout --driver "$drv" "${params[@]}" --runs 3 \
	--param size=1M --out "$TMP/reports" > "$TMP/table.txt" 2> "$TMP/run.err"; rc=$?
t1=$(date +%s.%N)
[ $rc -eq 0 ] && ok "run exit 0 ($(awk "BEGIN{printf \"%.1f\", $t1 - $t0}")s)" || fail "run exit $rc: $(head -c 600 "$TMP/run.err")"
validate "$TMP/reports" >/dev/null && ok "reports validate" || fail "reports do not validate"
/usr/bin/python3 - "$TMP/reports" "$drv" <<'PY' && ok "3 reports, status ok" || fail "report contents"
import json, pathlib, sys
rs = [json.loads(f.read_text()) for f in pathlib.Path(sys.argv[1]).glob("*.json")]
assert len(rs) == 3, len(rs)
for r in rs:
    assert r["status"] == "ok", (r["scenario"]["name"], r.get("reason"))
    assert r["driver"]["name"] == sys.argv[2], r["driver"]
    life = [a for a in r["aggregates"] if a["metric"] == "lifecycle_ms"]
    if life:
        print(f"  {sys.argv[2]} create+true+destroy median {life[0]['p50']:.1f} ms")
PY

# Another build of the runtime: bin=PATH runs that binary instead (here a wrapper that leaves a
# trace and execs the real one), so `paired` can put two builds side by side.
case $drv in
crun|runc|bwrap)
	real=$(command -v "$drv")
	printf '#!/bin/sh\necho x >> %s\nexec %s "$@"\n' "$TMP/build2.calls" "$real" > "$TMP/$drv-build2"
	chmod +x "$TMP/$drv-build2"
	$sb paired latency-spawn --driver "$drv" --current-param "bin=$TMP/$drv-build2" --pairs 6 --warmup 0 \
		--json --out "$TMP/builds.json" > /dev/null 2> "$TMP/builds.err"; rc=$?
	validate_paired() { /usr/bin/python3 "$SRCDIR/tests/tools/validate_json.py" "$SRCDIR/docs/paired.schema.json" "$1" >/dev/null; }
	validate_paired "$TMP/builds.json" || fail "two-builds paired document does not validate"
	[ $rc -ne 1 ] && [ -s "$TMP/build2.calls" ] && /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["baseline"]["params"] == {} and d["current"]["params"] == {"bin": sys.argv[2]}, (d["baseline"], d["current"])
assert d["current"]["bin_version"] == d["current"]["driver_version"], d["current"]  # the wrapper runs the same build
assert len([p for p in d["pairs"] if not p["warmup"]]) == 6, len(d["pairs"])
' "$TMP/builds.json" "$TMP/$drv-build2" && ok "paired: two builds through bin=PATH" || fail "bin=PATH paired (exit $rc): $(head -c 600 "$TMP/builds.err")"
	expect_error "bin=PATH that is not there" "bin=/nonexistent/$drv: not an executable file" \
		$sb exec --driver "$drv" --param "bin=/nonexistent/$drv" -- true ;;
esac

# the agent inside: shell pool and exec rate through `serve` connections
$sb run latency-shell-pool throughput-exec-rate --driver "$drv" "${params[@]}" --runs 2 --warmup 0 \
	--out "$TMP/agent" > /dev/null 2> "$TMP/agent.err"; rc=$?
[ $rc -eq 0 ] && validate "$TMP/agent" >/dev/null && /usr/bin/python3 -c '
import json, pathlib, sys
rs = [json.loads(f.read_text()) for f in pathlib.Path(sys.argv[1]).glob("*.json")]
assert len(rs) == 2 and all(r["status"] == "ok" for r in rs), [(r["scenario"]["name"], r.get("reason")) for r in rs]
' "$TMP/agent" && ok "shell pool and exec rate through the agent" || fail "agent scenarios (exit $rc): $(head -c 600 "$TMP/agent.err")"

snapshot > "$TMP/after"
left=$(new_items "$TMP/before" "$TMP/after")
[ -z "$left" ] && ok "nothing left behind" || fail "left behind: $left"

# SIGKILL mid-run, then doctor --clean.
if ! $sb doctor --help >/dev/null 2>&1; then
	echo "SKIP part: sandbench has no 'doctor' verb yet: crash cleanup not tested"
	finish
fi
$sb run latency-exec-output --driver "$drv" "${params[@]}" --runs 100000 --warmup 0 --out "$TMP/killed.json" \
	> /dev/null 2>&1 &
pid=$!
for i in $(seq 100); do
	snapshot > "$TMP/mid"
	[ -n "$(new_items "$TMP/before" "$TMP/mid")" ] && break
	sleep 0.1
done
sleep 0.3
kill -KILL $pid; wait $pid 2>/dev/null
sleep 0.3
snapshot > "$TMP/crashed"
echo "  after SIGKILL: $(new_items "$TMP/before" "$TMP/crashed" | wc -l) item(s) left"
$sb doctor --clean --drivers "$drv" > "$TMP/doctor.txt" 2>&1; rc=$?
sed 's/^/  | /' "$TMP/doctor.txt"
[ $rc -eq 0 ] && ok "doctor --clean exit 0" || fail "doctor --clean exit $rc"
for i in $(seq 50); do
	snapshot > "$TMP/final"
	left=$(new_items "$TMP/before" "$TMP/final")
	[ -z "$left" ] && break
	sleep 0.1
done
[ -z "$left" ] && ok "nothing left after SIGKILL + doctor --clean" || fail "left after doctor --clean: $left"
$sb doctor --drivers "$drv" | grep -q '^  0 found' && ok "doctor finds nothing more" || fail "doctor still finds leftovers"
finish
