#!/bin/bash
# The driver conformance suite, one harness for every driver: `conformance.sh DRIVER`.
#  - the op-level checks of every capability the driver declares (conformance-ops: create, exec
#    with exact stdout, agent, copy, stats, pids, clone, snapshot+restore, volumes, stop, destroy);
#  - the CLI: exec passes stdout, exit status and stdin through; the sandbox sees the standard
#    rootfs, not the host's tree;
#  - scenarios give status-ok reports that validate, also through the agent;
#  - a memory limit holds (resource-mem-pressure), when the driver has the memlimit capability;
#  - another build of the runtime runs through bin=PATH (runtime=PATH under podman);
#  - engines import the rootfs image once and reuse it;
#  - nothing stays behind (containers, state dirs, cgroups, mounts, sandbox processes);
#  - SIGTERM mid-run tears everything down (exit 143); after SIGKILL mid-run `doctor` lists what
#    the dead run left and `doctor --clean` removes it.
# A host fix a runtime needs here is applied through `sandbench doctor --prepare-host` (engines and
# firejail always when missing; others when CI=true or SANDBENCH_PREPARE_HOST=1) and restored on
# exit. Exit 77 (SKIP) with the probe's reason when the runtime cannot run here.
. "$SRCDIR/tests/integration/lib.sh"
drv=${1:?usage: conformance.sh DRIVER}
sb=$SANDBENCH
[ -n "${SANDBENCH_AGENT:-}" ] || skip "SANDBENCH_AGENT not set"
[ -n "${CONFORMANCE_OPS:-}" ] || skip "CONFORMANCE_OPS not set"
[ "$(id -u)" -eq 0 ] || skip "$drv needs root"
docker_cli=/usr/bin/docker
[ -x $docker_cli ] || docker_cli=docker

params=() kv=()
# The qemu driver boots a guest kernel the image cache must hold (built once, shared with rt-qemu-vm).
[ "$drv" = qemu ] && . "$SRCDIR/tests/conformance/qemu_kernel.sh"
if [ "$drv" = cmd ]; then
	conf="$SRCDIR/docs/examples/cmd-bwrap.conf"
	params=(--param "config=$conf")
	kv=("config=$conf")
	export SANDBENCH_CMD_CONFIG=$conf # lets the driver's probe run the config's probe command
fi

# The probe's verdict for this driver alone: "ok" or the reason.
probe() {
	local err
	if err=$($sb exec --driver "$drv" "${params[@]}" -- true 2>&1 >/dev/null); then
		echo ok
	else
		case $err in
		*"is not usable here: "*) echo "${err#*is not usable here: }" ;;
		*) echo "error: $err" ;;
		esac
	fi
}
fixed=
restore_host() {
	[ -n "$fixed" ] || return 0
	echo "restoring the host (sandbench doctor --restore-host --drivers $drv):"
	# Other runtimes may have made cgroups in a moved hierarchy meanwhile: then it stays.
	$sb doctor --restore-host --drivers "$drv" 2>&1 | sed 's/^/  | /'
	fixed=
}
trap 'restore_host; rm -rf "$TMP"' EXIT

why=$(probe)
case $drv in docker | containerd | firejail) always_fix=true ;; *) always_fix=false ;; esac
if [ "$why" != ok ] && { $always_fix || { case $why in *--prepare-host*) true ;; *) false ;; esac &&
	{ [ "${CI:-}" = true ] || [ "${SANDBENCH_PREPARE_HOST:-}" = 1 ]; }; }; }; then
	echo "$drv: $why"
	echo "applying the host fix (sandbench doctor --prepare-host --drivers $drv):"
	$sb doctor --prepare-host --drivers "$drv" 2>&1 | sed 's/^/  | /'
	fixed=$drv
	why=$(probe)
fi
case $why in
ok) ok "probe: $drv usable" ;;
error:*) fail "$drv: $why"; finish ;;
*) skip "$drv: $why" ;;
esac

# Everything a box of any driver could leave behind, one item per line, sorted.
inventory() {
	{
		case $drv in
		podman | podman-runc)
			podman ps -a --filter "label=sandbench.driver=$drv" --format 'container {{.Names}}' ;;
		docker)
			$docker_cli ps -a --filter "label=sandbench.driver=$drv" --format 'container {{.Names}}' ;;
		containerd)
			ctr -n sandbench containers ls -q | sed 's/^/container /'
			ctr -n sandbench snapshots ls 2>/dev/null | awk '$1 ~ /^sb-/ {print "snapshot " $1}'
			ls -d /sys/fs/cgroup/*/sandbench 2>/dev/null | sed 's/^/cgroup /' ;;
		lxc)
			ls -d /sys/fs/cgroup/*/lxc.payload.sb-* /sys/fs/cgroup/*/lxc.monitor.sb-* 2>/dev/null | sed 's/^/cgroup /'
			pgrep -af '[l]xc-execute -n sb-' | sed 's/^/process /' ;;
		firejail)
			pgrep -af '[f]irejail --quiet --noprofile --name=sb-' | sed 's/^/process /' ;;
		crun | runc)
			$drv list -q 2>/dev/null | grep -v '^probe-' | sed "s/^/$drv-container /" ;;
		runsc)
			runsc --root=/run/sandbench/runsc/.root list -quiet 2>/dev/null | grep -v '^probe-' | sed 's/^/runsc-container /'
			ip -o link 2>/dev/null | awk -F': ' '$2 ~ /^sbo[0-9]/ {sub(/@.*/, "", $2); print "veth " $2}' ;;
		nspawn)
			pgrep -af '[s]ystemd-nspawn .*--machine=sb-' | sed 's/^/process /'
			ls /run/systemd/nspawn/propagate 2>/dev/null | sed 's/^/nspawn-state /' ;;
		qemu)
			pgrep -af '[q]emu-system-x86_64 .*-name sandbench-sb-' |
				sed -E 's/^([0-9]+) .*-name sandbench-(sb-[^ ]*).*/process \1 qemu \2/' ;;
		esac
		# state entries, with the box a marker file names (native's are named by pid, not box)
		for f in "/run/sandbench/$drv"/* /run/sandbench/oci/*; do
			[ -e "$f" ] || continue
			case ${f##*/} in probe-* | .*) continue ;; esac
			n=$([ -f "$f" ] && sed -n 's/^name=//p' "$f" 2>/dev/null | head -1)
			echo "state ${f##*/}${n:+ $n}"
		done
		find /sys/fs/cgroup -mindepth 1 -maxdepth 6 -type d -name 'sandbench-sb-*' 2>/dev/null | sed 's/^/cgroup /'
		awk '$5 ~ "^/run/sandbench/" {print "mount " $5}' /proc/self/mountinfo
		# sandboxes of owners that are gone (bwrap and the cmd example carry SANDBENCH_BOX)
		for p in $(pgrep -f '[S]ANDBENCH_BOX=sb-' 2>/dev/null); do
			cmd=$(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null)
			[ "$p" = $$ ] || [ -z "$cmd" ] || echo "process $cmd"
		done
	} | grep -v -- sb-probe- | sort
}
# This test's sandboxes carry its run id; another run's (a busy host) are not this test's business.
export SANDBENCH_RUN_ID=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
mine=${SANDBENCH_RUN_ID:0:8}
only_mine() {
	local f
	f=$(mktemp -p "$TMP")
	cat > "$f"
	grep -vE 'sb-(exec-)?[0-9a-f]{8}' "$f"
	grep -E "sb-(exec-)?$mine" "$f"
	rm -f "$f"
}
inventory > "$TMP/before"
new_items() { comm -13 "$TMP/before" <(inventory) | only_mine; }

# The op level: every capability the probe grants.
"$CONFORMANCE_OPS" "$drv" "${kv[@]}" > "$TMP/ops.out" 2>&1; rc=$?
sed 's/^/  | /' "$TMP/ops.out"
[ $rc -eq 0 ] && ok "op-level conformance ($(grep -c '^ok:' "$TMP/ops.out") checks)" ||
	fail "op-level conformance: $(grep -c '^FAIL' "$TMP/ops.out") failed"
caps=$(sed -n 's/^# [^:]*: //p' "$TMP/ops.out")
has_cap() { case ",$caps," in *",$1,"*) true ;; *) false ;; esac; }

# The CLI: exec output, exit status, stdin; the standard rootfs, not the host's tree.
out=$($sb exec --driver "$drv" "${params[@]}" -- echo hi 2> "$TMP/exec.err")
[ "$out" = hi ] && ok "exec echo hi" || fail "exec printed '$out': $(head -c 500 "$TMP/exec.err")"
$sb exec --driver "$drv" "${params[@]}" -- sh -c 'exit 7' 2>/dev/null; rc=$?
[ $rc -eq 7 ] && ok "exec exit status" || fail "exec exit status $rc, expected 7"
got=$(printf 'in-%s\n' "$drv" | $sb exec --driver "$drv" "${params[@]}" -- cat 2>"$TMP/stdin.err")
[ "$got" = "in-$drv" ] && ok "exec stdin" || fail "stdin: got '$got': $(head -c 300 "$TMP/stdin.err")"
if has_cap isolation; then
	$sb exec --driver "$drv" "${params[@]}" -- test -x /sandbench-agent 2>/dev/null && ok "rootfs has the agent" ||
		fail "no /sandbench-agent inside"
	$sb exec --driver "$drv" "${params[@]}" -- test -e "$SRCDIR/meson.build" 2>/dev/null &&
		fail "host tree visible inside" || ok "host tree hidden"
fi

# Engines: the rootfs is imported as one image, then reused.
rootfs=$($sb image build 2>/dev/null) || fail "sandbench image build"
hash=${rootfs##*rootfs-}
images() {
	case $drv in
	podman | podman-runc) podman images --format '{{.Repository}}:{{.Tag}} {{.ID}}' ;;
	docker) $docker_cli images --format '{{.Repository}}:{{.Tag}} {{.ID}}' ;;
	containerd) ctr -n sandbench images ls | awk '{print $1, $3}' ;;
	esac | grep -- "$hash" | sort
}
images > "$TMP/images.before"
case $drv in
podman | podman-runc | docker | containerd)
	[ "$(wc -l < "$TMP/images.before")" -eq 1 ] && ok "one image of the rootfs ($hash)" ||
		fail "images of $hash: $(cat "$TMP/images.before")" ;;
esac

# Scenarios, directly and through the agent: reports validate, status ok.
run_ok() { # run_ok LABEL [--param k=v] SCENARIO...
	local label=$1 dir=$TMP/r-$1 t0=$SECONDS extra=()
	shift
	[ "$1" = --param ] && { extra=(--param "$2"); shift 2; }
	if ! $sb run "$@" --driver "$drv" "${params[@]}" "${extra[@]}" --runs 3 --warmup 0 --out "$dir" \
		> "$TMP/$label.out" 2>&1; then
		fail "run $*: $(tail -c 600 "$TMP/$label.out")"
		return
	fi
	validate "$dir" > /dev/null && ok "$label reports validate" || fail "$label reports invalid"
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
run_ok latency --param size=1M latency-spawn latency-exec-output throughput-stdout
has_cap agent && run_ok agent latency-shell-pool throughput-exec-rate
# Volumes: the scenarios check themselves that the bytes written inside reached the host directory.
has_cap volumes && run_ok volumes --param size=4M throughput-volume-write throughput-volumes-setup
# The sandbox's filesystem as a tar stream both ways: on a read-only root (bwrap) through its /tmp;
# 2M, under the 4 MiB stdin that an agent-carried exec (qemu) takes in one request.
has_cap isolation && has_cap agent && run_ok export --param size=2M throughput-export throughput-import

# A memory limit holds: touching more than it inside is killed or refused (small sizes: a 64M limit,
# 32M under it, 128M over it). Whether the sandbox lives on is said, not required (runsc's does not).
if has_cap memlimit; then
	$sb run resource-mem-pressure --driver "$drv" "${params[@]}" --runs 1 --param limit=64M --param under=32M \
		--param over=128M --out "$TMP/mem.json" > "$TMP/mem.out" 2>&1
	/usr/bin/python3 - "$TMP/mem.json" <<'PY' && ok "memory limit holds (64M: 32M touched, 128M refused)" ||
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "ok", r.get("reason")
a = {x["metric"]: x["p50"] for x in r["aggregates"]}
assert a["mem_under_limit_ok"] == 1 and a["mem_limit_held"] == 1, a
assert a["mem_over_exit_status"] != 0, a
print(f"  over the limit: exit status {a['mem_over_exit_status']:.0f}; the sandbox",
      "ran a command afterwards" if a["mem_usable_after"] == 1 else "did not survive it")
PY
		fail "memory limit: $(tail -c 400 "$TMP/mem.out") $(head -c 600 "$TMP/mem.json" 2>/dev/null)"
fi

# Another build of the runtime, side by side through paired: bin=PATH for the OCI runtimes and
# bwrap, runtime=PATH for the OCI runtime under podman (a wrapper that leaves a trace).
build2() { # build2 PARAM REAL
	local param=$1 real=$2
	printf '#!/bin/sh\necho x >> %s\nexec %s "$@"\n' "$TMP/build2.calls" "$real" > "$TMP/build2"
	chmod +x "$TMP/build2"
	$sb paired latency-spawn --driver "$drv" --current-param "$param=$TMP/build2" --pairs 6 --warmup 0 \
		--json --out "$TMP/builds.json" > /dev/null 2> "$TMP/builds.err"; rc=$?
	/usr/bin/python3 "$SRCDIR/tests/tools/validate_json.py" "$SRCDIR/docs/paired.schema.json" "$TMP/builds.json" \
		> /dev/null || fail "two-builds paired document does not validate"
	[ $rc -ne 1 ] && [ -s "$TMP/build2.calls" ] && /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["baseline"]["params"] == {} and d["current"]["params"] == {sys.argv[3]: sys.argv[2]}, d["current"]
if sys.argv[3] == "bin":
    assert d["current"]["bin_version"] == d["current"]["driver_version"], d["current"]
assert len([p for p in d["pairs"] if not p["warmup"]]) == 6, len(d["pairs"])
' "$TMP/builds.json" "$TMP/build2" "$param" && ok "paired: two builds through $param=PATH" ||
		fail "$param=PATH paired (exit $rc): $(head -c 600 "$TMP/builds.err")"
	expect_error "$param=PATH that is not there" "$param=/nonexistent/x: not an executable file" \
		$sb exec --driver "$drv" --param "$param=/nonexistent/x" -- true
}
case $drv in
crun | runc | bwrap | runsc) build2 bin "$(command -v "$drv")" ;;
nspawn) build2 bin "$(command -v systemd-nspawn)" ;;
podman) build2 runtime "$(command -v crun)" ;;
podman-runc) build2 runtime "$(command -v runc)" ;;
esac

# runsc: net=hostinet reaches the host end of the veth the driver made (the host answers a
# connection to a closed port: refused, not unreachable); an unknown platform is one clear error.
if [ "$drv" = runsc ]; then
	got=$($sb exec --driver runsc --param net=hostinet -- sh -c \
		'ip=$(ip -4 -o addr show eth0 | sed "s/.*inet \([0-9.]*\)\/.*/\1/"); nc "${ip%.*}.$((${ip##*.} - 1))" 9 < /dev/null' 2>&1)
	case $got in
	*"Connection refused"*) ok "net=hostinet: the sandbox reaches the host end of its veth" ;;
	*) fail "net=hostinet: $got" ;;
	esac
	expect_error "platform= the build does not know" "platform=nosuch: this runsc knows" \
		$sb exec --driver runsc --param platform=nosuch -- true
fi

# gVisor as the engine's OCI runtime (runtime=runsc): the kernel log inside is gVisor's own.
case $drv in
podman | podman-runc)
	if command -v runsc > /dev/null; then
		got=$($sb exec --driver "$drv" --param runtime=runsc -- dmesg 2> "$TMP/runsc.err" | head -1)
		case $got in
		*"Starting gVisor"*) ok "runtime=runsc: the container runs on gVisor" ;;
		*) fail "runtime=runsc: got '$got': $(head -c 400 "$TMP/runsc.err")" ;;
		esac
	fi ;;
esac

images > "$TMP/images.after"
cmp -s "$TMP/images.before" "$TMP/images.after" && ok "image reused, not imported again" ||
	fail "images changed: $(diff "$TMP/images.before" "$TMP/images.after" | tr '\n' ' ')"
left=$(new_items)
[ -z "$left" ] && ok "nothing left behind" || fail "left behind: $(echo $left)"

# Interrupted runs.
# Until the run's first box shows on the host (at most 15 s: some drivers' boxes leave nothing
# there, e.g. process).
wait_box() {
	local until=$((SECONDS + 15))
	while [ $SECONDS -lt $until ]; do
		[ -n "$(new_items)" ] && return 0
		sleep 0.2
	done
	return 1
}
$sb run latency-exec-output --driver "$drv" "${params[@]}" --runs 100000 --warmup 0 --out "$TMP/termed" > /dev/null 2>&1 &
pid=$!
wait_box
sleep 0.5
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 143 ] && ok "SIGTERM: exit 143" || fail "SIGTERM: exit $rc"
left=$(new_items)
[ -z "$left" ] && ok "SIGTERM: nothing left behind" || fail "SIGTERM left: $(echo $left)"

$sb run latency-exec-output --driver "$drv" "${params[@]}" --runs 100000 --warmup 0 --out "$TMP/killed" > /dev/null 2>&1 &
pid=$!
wait_box
sleep 0.5
kill -KILL $pid
wait $pid 2> /dev/null
sleep 0.3
echo "  after SIGKILL: $(new_items | wc -l) item(s) left"
$sb doctor --drivers "$drv" > "$TMP/doctor.out" 2>&1
# Boxes of these drivers outlive their owner (a daemon's container, a jail, cgroups, a VMM in its
# own process group): doctor must name them. Those of the others die with it (--die-with-parent,
# the process group).
case $drv in
lxc | firejail | podman | podman-runc | docker | containerd | runsc | nspawn | qemu)
	grep -q "^  $drv: " "$TMP/doctor.out" && ok "doctor lists the dead run's leftovers" ||
		fail "doctor found nothing: $(cat "$TMP/doctor.out")" ;;
esac
$sb doctor --clean --drivers "$drv" > "$TMP/clean.out" 2>&1 && ok "doctor --clean exit 0" ||
	fail "doctor --clean: $(cat "$TMP/clean.out")"
for _ in $(seq 50); do
	left=$(new_items)
	[ -z "$left" ] && break
	sleep 0.1
done
[ -z "$left" ] && ok "nothing left after SIGKILL + doctor --clean" || fail "after --clean: $(echo $left)"
# (Another run that crashed meanwhile on a busy host is not this one's: only our boxes count.)
$sb doctor --drivers "$drv" > "$TMP/doctor2.out" 2>&1
if grep -q "0 found" "$TMP/doctor2.out" || ! grep -q -- "$mine" "$TMP/doctor2.out"; then
	ok "doctor finds nothing of this run"
else
	fail "doctor still finds something: $(grep -- "$mine" "$TMP/doctor2.out")"
fi
finish
