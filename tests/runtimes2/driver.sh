#!/bin/bash
# End-to-end check of one engine or jail driver (lxc, firejail, podman, podman-runc, docker,
# containerd): usage `driver.sh DRIVER`.
#  - the host fix the runtime needs here is applied through `sandbench doctor --prepare-host` only
#    when the probe says it is missing, and exactly that is restored on exit;
#  - exec prints, propagates exit status and stdin; latency-spawn, latency-exec-output and
#    latency-shell-pool give status ok reports that validate;
#  - nothing stays behind (containers by label, state dirs, mounts, lxc cgroups, jail processes),
#    and the engine's image of the rootfs is imported once and then reused;
#  - SIGTERM mid-run tears everything down; after SIGKILL mid-run the box (or its state) that is
#    left is listed by `doctor` and removed by `doctor --clean`.
# Exit 77 (SKIP) with the probe's reason when the runtime cannot run here even after the fix.
. "$SRCDIR/tests/integration/lib.sh"
drv=${1:?usage: driver.sh DRIVER}
sb=$SANDBENCH
[ -n "${SANDBENCH_AGENT:-}" ] || skip "SANDBENCH_AGENT not set"
[ "$(id -u)" -eq 0 ] || skip "$drv needs root"
# A private image cache: the rootfs goes away with $TMP.
export SANDBENCH_CACHE=$TMP/cache
docker_cli=/usr/bin/docker
[ -x $docker_cli ] || docker_cli=docker

# The probe's verdict: "ok" or the reason.
probe() {
	$sb drivers --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
m = [d for d in json.load(sys.stdin) if d["name"] == sys.argv[1]]
print("driver not compiled in" if not m else "ok" if m[0]["usable"] else m[0]["reason"])' "$drv"
}

have_doctor=false
$sb doctor --help >/dev/null 2>&1 && have_doctor=true
fixed=
restore() {
	[ -n "$fixed" ] || return 0
	$sb doctor --restore-host --drivers "$fixed" >"$TMP/restore.out" 2>&1 ||
		echo "FAIL: doctor --restore-host: $(cat "$TMP/restore.out")"
	fixed=
}
trap 'restore; rm -rf "$TMP"' EXIT

why=$(probe)
case $drv in docker | containerd | firejail) fixable=true ;; *) fixable=false ;; esac
if [ "$why" != ok ] && $fixable; then
	$have_doctor || skip "$drv: $why (and this build has no doctor verb to prepare the host)"
	if $sb doctor --prepare-host --drivers "$drv" >"$TMP/prepare.out" 2>&1; then
		fixed=$drv
		ok "doctor --prepare-host for $drv"
	else
		echo "prepare-host failed: $(cat "$TMP/prepare.out")"
	fi
	why=$(probe)
fi
[ "$why" = ok ] || skip "$drv: $why"
ok "probe: $drv usable"

# Every box-shaped thing of this driver, one per line, sorted (images separately below).
boxes() {
	{
		case $drv in
		podman | podman-runc)
			podman ps -a --filter "label=sandbench.driver=$drv" --format 'container {{.Names}}' ;;
		docker)
			$docker_cli ps -a --filter "label=sandbench.driver=$drv" --format 'container {{.Names}}' ;;
		containerd)
			ctr -n sandbench containers ls -q | sed 's/^/container /'
			ctr -n sandbench snapshots ls 2>/dev/null | awk '$1 ~ /^sb-/ {print "snapshot " $1}'
			# containerd's per-namespace cgroup level, which it never removes itself
			ls -d /sys/fs/cgroup/*/sandbench 2>/dev/null | sed 's/^/cgroup /' ;;
		lxc)
			ls /run/sandbench/lxc 2>/dev/null | sed 's/^/state /'
			ls -d /sys/fs/cgroup/*/lxc.payload.sb-* /sys/fs/cgroup/*/lxc.monitor.sb-* 2>/dev/null | sed 's/^/cgroup /'
			pgrep -af '[l]xc-execute -n sb-' | sed 's/^/process /' ;;
		firejail)
			ls /run/sandbench/firejail 2>/dev/null | sed 's/^/state /'
			pgrep -af '[f]irejail --quiet --noprofile --name=sb-' | sed 's/^/process /' ;;
		esac
		awk '$5 ~ "^/run/sandbench/(lxc|firejail)/" {print "mount " $5}' /proc/self/mountinfo
	} | grep -v -- sb-probe- | sort
}
# The engine's image of this test's rootfs with its id: the same line before and after the runs
# means it was imported once and reused (other sandbench builds may add their own meanwhile).
rootfs=$($sb image build 2>/dev/null) || fail "sandbench image build"
hash=${rootfs##*rootfs-}
images() {
	case $drv in
	podman | podman-runc) podman images --format '{{.Repository}}:{{.Tag}} {{.ID}}' ;;
	docker) $docker_cli images --format '{{.Repository}}:{{.Tag}} {{.ID}}' ;;
	containerd) ctr -n sandbench images ls | awk '{print $1, $3}' ;;
	esac | grep -- "$hash" | sort
}

boxes >"$TMP/boxes.before"

# exec: output, exit status, stdin
out=$($sb exec --driver "$drv" -- echo hi 2>"$TMP/exec.err")
[ "$out" = hi ] && ok "exec echo hi" || fail "exec printed '$out': $(head -c 500 "$TMP/exec.err")"
$sb exec --driver "$drv" -- sh -c 'exit 5' 2>/dev/null
rc=$?
[ $rc -eq 5 ] && ok "exit status passed through" || fail "exit status $rc, expected 5"
got=$(printf 'in-%s\n' "$drv" | $sb exec --driver "$drv" -- cat 2>"$TMP/stdin.err")
[ "$got" = "in-$drv" ] && ok "stdin passed through" || fail "stdin: got '$got': $(head -c 300 "$TMP/stdin.err")"
$sb exec --driver "$drv" -- test -e "$SRCDIR/meson.build" 2>/dev/null && fail "host tree visible inside" || ok "host tree not visible"

images >"$TMP/images.before"
case $drv in
lxc | firejail) ;;
*) [ "$(wc -l <"$TMP/images.before")" -eq 1 ] && ok "one image of the rootfs ($hash)" ||
	fail "images of $hash: $(cat "$TMP/images.before")" ;;
esac

run_ok() { # run_ok LABEL SCENARIO... : reports exist, validate, status ok
	local label=$1
	local dir=$TMP/r-$label t0=$SECONDS
	shift
	if ! $sb run "$@" --driver "$drv" --runs 3 --warmup 0 --out "$dir" >"$TMP/$label.out" 2>&1; then
		fail "run $*: $(tail -c 600 "$TMP/$label.out")"
		return
	fi
	validate "$dir" >/dev/null && ok "$label reports validate" || fail "$label reports invalid"
	/usr/bin/python3 - "$dir" "$#" <<'PY' && ok "$label: $# report(s) ok ($((SECONDS - t0))s)" || fail "$label report status"
import json, pathlib, sys
reports = [json.loads(p.read_text()) for p in sorted(pathlib.Path(sys.argv[1]).glob("*.json"))]
assert len(reports) == int(sys.argv[2]), len(reports)
for r in reports:
    assert r["status"] == "ok", (r["scenario"]["name"], r.get("reason"))
    for a in r["aggregates"]:
        if a["metric"] == "lifecycle_ms":
            print(f"  {r['driver']['name']}: create+true+destroy median {a['p50']:.1f} ms")
PY
}
run_ok latency latency-spawn latency-exec-output
run_ok pool latency-shell-pool

# Another build of the OCI runtime under podman: runtime=PATH (here a wrapper that leaves a trace
# and execs the real one), side by side with the default through paired.
case $drv in
podman | podman-runc)
	oci=crun; [ "$drv" = podman-runc ] && oci=runc
	printf '#!/bin/sh\necho x >> %s\nexec %s "$@"\n' "$TMP/oci2.calls" "$(command -v $oci)" > "$TMP/$oci-build2"
	chmod +x "$TMP/$oci-build2"
	$sb paired latency-spawn --driver "$drv" --current-param "runtime=$TMP/$oci-build2" --pairs 6 --warmup 0 \
		--json --out "$TMP/builds.json" >/dev/null 2>"$TMP/builds.err"; rc=$?
	[ $rc -ne 1 ] && [ -s "$TMP/oci2.calls" ] && /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["current"]["params"] == {"runtime": sys.argv[2]} and d["baseline"]["params"] == {}, d["current"]
' "$TMP/builds.json" "$TMP/$oci-build2" && ok "paired: two $oci builds under $drv (runtime=PATH)" ||
		fail "runtime=PATH paired (exit $rc): $(head -c 600 "$TMP/builds.err")"
	err=$($sb exec --driver "$drv" --param runtime=/nonexistent/$oci -- true 2>&1 >/dev/null)
	case $err in *"runtime=/nonexistent/$oci: not an executable file"*) ok "runtime=PATH that is not there";;
	*) fail "missing runtime: $err";; esac ;;
esac

images >"$TMP/images.after"
cmp -s "$TMP/images.before" "$TMP/images.after" && ok "image reused, not imported again" ||
	fail "images changed: $(diff "$TMP/images.before" "$TMP/images.after" | tr '\n' ' ')"
boxes >"$TMP/boxes.after"
left=$(comm -13 "$TMP/boxes.before" "$TMP/boxes.after")
[ -z "$left" ] && ok "nothing left behind" || fail "left behind: $(echo $left)"

# SIGTERM mid-run: the run tears down what it made, however far it got.
wait_box() {
	for _ in $(seq 600); do
		[ -n "$(comm -13 "$TMP/boxes.before" <(boxes))" ] && return 0
		sleep 0.1
	done
	return 1
}
$sb run latency-exec-output --driver "$drv" --runs 100000 --warmup 0 --out "$TMP/termed" >/dev/null 2>&1 &
pid=$!
wait_box
sleep 0.7
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 143 ] && ok "SIGTERM: exit 143" || fail "SIGTERM: exit $rc"
left=$(comm -13 "$TMP/boxes.before" <(boxes))
[ -z "$left" ] && ok "SIGTERM: nothing left behind" || fail "SIGTERM left: $(echo $left)"

# SIGKILL mid-run: the box stays (engines) or its state does (jails); doctor finds and cleans it.
if $have_doctor; then
	$sb run latency-exec-output --driver "$drv" --runs 100000 --warmup 0 --out "$TMP/killed" >/dev/null 2>&1 &
	pid=$!
	wait_box
	sleep 0.5
	kill -KILL $pid
	wait $pid 2>/dev/null
	[ -n "$(comm -13 "$TMP/boxes.before" <(boxes))" ] && ok "a box outlived the SIGKILL" ||
		fail "no box seen before the kill"
	$sb doctor --drivers "$drv" >"$TMP/doctor.out" 2>&1
	grep -q "^  $drv: " "$TMP/doctor.out" && ok "doctor lists the dead run's box" ||
		fail "doctor found nothing: $(cat "$TMP/doctor.out")"
	$sb doctor --clean --drivers "$drv" >"$TMP/clean.out" 2>&1 && ok "doctor --clean exit 0" ||
		fail "doctor --clean: $(cat "$TMP/clean.out")"
	left=
	for _ in $(seq 50); do
		left=$(comm -13 "$TMP/boxes.before" <(boxes))
		[ -z "$left" ] && break
		sleep 0.1
	done
	[ -z "$left" ] && ok "nothing left after doctor --clean" || fail "after --clean: $(echo $left)"
	$sb doctor --drivers "$drv" 2>&1 | grep -q "0 found" && ok "doctor: 0 found" || fail "doctor still finds something"
else
	echo "SKIP (part): kill + doctor --clean: this build has no doctor verb"
fi
finish
