#!/bin/bash
# Faults (issue 18): each must come back as an error naming it, the run must go on to its next
# iteration, and nothing may leak. A runtime binary that hangs and one that crashes (bin=PATH
# wrappers of runc and bwrap), an agent killed in the middle of a request, a full disk inside the
# sandbox (a 2 MiB tmpfs bound into a bwrap sandbox through the cmd driver), and a host out of pids
# (sandbench itself in a pids cgroup with a small limit). Each part SKIPs alone when what it needs
# is missing; the test SKIPs when none could run.
. "$SRCDIR/tests/integration/lib.sh"
sb=$SANDBENCH
[ "$(id -u)" -eq 0 ] || skip "fault tests need root"
[ -n "${SANDBENCH_AGENT:-}" ] || skip "SANDBENCH_AGENT not set"
usable() { $sb exec --driver "$1" "${@:2}" -- true >/dev/null 2>&1; }
ran=0
cleanup() {
	[ -n "${small:-}" ] && umount "$small" 2>/dev/null
	[ -n "${pcg:-}" ] && rmdir "$pcg" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# report FILE: "status|reason|error of each sample;..."
errors() {
	/usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["status"], len(r["samples"]), "|".join(s.get("error") or "ok" for s in r["samples"]))' "$1" 2>/dev/null
}
# expect_fault LABEL WANT_TEXT REPORT RC: exit 1, an error report, every sample attempted (the run
# went on) and failed with WANT_TEXT.
expect_fault() {
	local label=$1 want=$2 rep=$3 rc=$4 e
	e=$(errors "$rep")
	if [ "$rc" -ne 1 ]; then fail "$label: exit $rc, expected 1"
	elif [[ $e != "error 2 "* ]]; then fail "$label: expected an error report with 2 samples: $e"
	elif [[ ${e#error 2 } != *"$want"*"|"*"$want"* ]]; then fail "$label: samples lack '$want': $e"
	else ok "$label: ${e#error 2 }" | cut -c1-200; fi
}
# LABEL DRIVER: doctor finds nothing of this driver left behind.
no_leftovers() {
	$sb doctor --drivers "$2" 2>/dev/null | grep -q '^  0 found' && ok "$1: doctor finds nothing left" ||
		fail "$1: doctor finds leftovers: $($sb doctor --drivers "$2" 2>&1 | head -5)"
}
mark=$((RANDOM + 10000)) # a number only our wrappers' sleeps carry
no_leaks() { # LABEL: no wrapper sleep and no state of this test's runs left
	local label=$1 i
	for i in $(seq 30); do
		pgrep -f "sleep $mark" >/dev/null || break
		sleep 0.1
	done
	pgrep -f "sleep $mark" >/dev/null && fail "$label: the hung runtime is still running" || ok "$label: nothing leaked"
}

# ---- a runtime binary that hangs, and one that crashes
for drv in runc bwrap; do
	usable "$drv" || { echo "SKIP part: $drv not usable here"; continue; }
	# runc: a command in a running box; bwrap: a box per iteration (its start is what hangs).
	case $drv in runc) scn=latency-exec-output; hang_says=runc-hang ;; bwrap) scn=latency-spawn; hang_says=bwrap ;; esac
	real=$(command -v "$drv")
	# runc: only `exec` misbehaves (the box is up, a command hangs); bwrap: a box's start (the one
	# call with --info-fd; the driver's probe runs this build too and must see it work).
	case $drv in runc) when='*" exec "*' ;; bwrap) when='*" --info-fd "*' ;; esac
	for f in hang crash; do
		case $f in hang) act="exec sleep $mark" ;; crash) act='kill -SEGV $$' ;; esac
		printf '#!/bin/sh\ncase " $* " in %s) %s ;; esac\nexec %s "$@"\n' "$when" "$act" "$real" > "$TMP/$drv-$f"
		chmod +x "$TMP/$drv-$f"
	done
	$sb run $scn --driver "$drv" --param "bin=$TMP/$drv-hang" --runs 2 --warmup 0 --timeout 2 \
		--out "$TMP/$drv-hang.json" > /dev/null 2>&1
	expect_fault "$drv hangs" "$hang_says" "$TMP/$drv-hang.json" $?
	no_leaks "$drv hangs"
	$sb run $scn --driver "$drv" --param "bin=$TMP/$drv-crash" --runs 2 --warmup 0 --timeout 10 \
		--out "$TMP/$drv-crash.json" > /dev/null 2>&1
	expect_fault "$drv crashes" "signal 11" "$TMP/$drv-crash.json" $?
	no_leftovers "$drv hangs and crashes" "$drv"
	ran=$((ran + 1))
done

# ---- the agent dies in the middle of a request
descendants() { local c; for c in $(cat /proc/$1/task/*/children 2>/dev/null); do echo "$c"; descendants "$c"; done; }
for drv in native runc; do
	usable "$drv" || { echo "SKIP part: $drv not usable here"; continue; }
	$sb run throughput-disk --driver "$drv" --param size=256M --runs 2 --warmup 0 --out "$TMP/agent-$drv.json" \
		> /dev/null 2>&1 &
	pid=$!
	# The agent serving a request: the parent of a running disk-write workload.
	agent=
	for i in $(seq 400); do
		for p in $(descendants $pid); do
			tr '\0' ' ' 2>/dev/null < /proc/$p/cmdline | grep -q 'sandbench-agent disk-write' &&
				agent=$(awk '{print $4}' /proc/$p/stat 2>/dev/null)
		done
		[ -n "$agent" ] && break
		sleep 0.02
	done
	[ -n "$agent" ] && kill -KILL "$agent"
	wait $pid; rc=$?
	e=$(errors "$TMP/agent-$drv.json")
	[ -n "$agent" ] && [ $rc -eq 1 ] && [[ $e == "error 2 "*"agent"* ]] && ok "$drv: agent killed mid-request: $e" ||
		fail "$drv: agent killed mid-request (pid ${agent:-none found}): exit $rc, $e"
	no_leftovers "$drv agent killed" "$drv"
	ran=$((ran + 1))
done

# ---- a full disk inside the sandbox: a 2 MiB tmpfs bound at /data of a bwrap sandbox
conf=$SRCDIR/docs/examples/cmd-bwrap.conf
if usable cmd --param "config=$conf"; then
	small=$TMP/small
	mkdir -p "$small" && mount -t tmpfs -o size=2m sb-faults "$small"
	sed "s|--tmpfs /tmp|--tmpfs /tmp --bind $small /tmp/data|" "$conf" > "$TMP/full.conf"
	$sb run throughput-disk --driver cmd --param "config=$TMP/full.conf" --param dir=/tmp/data --param size=8M \
		--runs 2 --warmup 0 --out "$TMP/full.json" > /dev/null 2>&1
	expect_fault "full disk" "No space left on device" "$TMP/full.json" $?
	[ -z "$(ls -A "$small")" ] && ok "full disk: the partial file was removed" || fail "full disk left: $(ls "$small")"
	no_leftovers "full disk" cmd
	umount "$small" && small=
	ran=$((ran + 1))
else
	echo "SKIP part: cmd with bwrap not usable here"
fi

# ---- a host out of pids: sandbench in a pids cgroup that holds it and a few more
pids_root=/sys/fs/cgroup/pids
[ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw pids /sys/fs/cgroup/cgroup.controllers && pids_root=/sys/fs/cgroup
if [ -d "$pids_root" ] && usable native; then
	pcg=$pids_root/sb-faults-$$
	mkdir "$pcg" && echo 12 > "$pcg/pids.max"
	# the shell moves itself in, then execs sandbench: every process of the run is counted
	sh -c "echo \$\$ > $pcg/cgroup.procs && exec $sb run latency-shell-pool --driver native --param levels=8 \
		--runs 2 --warmup 0 --out $TMP/pids.json" > /dev/null 2>&1
	expect_fault "out of pids" "Resource temporarily unavailable" "$TMP/pids.json" $?
	for i in $(seq 30); do [ "$(cat "$pcg/pids.current")" -eq 0 ] && break; sleep 0.1; done
	[ "$(cat "$pcg/pids.current")" -eq 0 ] && ok "out of pids: no process left" || fail "out of pids: $(cat "$pcg/pids.current") processes left"
	rmdir "$pcg" && pcg=
	no_leftovers "out of pids" native
	ran=$((ran + 1))
else
	echo "SKIP part: no pids cgroup or native not usable"
fi
[ $ran -gt 0 ] || skip "no fault could be staged here"
finish
