#!/bin/bash
# Crash safety of one driver (crash.sh DRIVER): sandbench is killed mid-run while a box is being
# created, while a command runs in it, and during a burst (the shell pool's 8 agent slots at once).
# After SIGKILL `sandbench doctor --drivers D` must list what was left and `doctor --clean` remove it:
# no process, mount, cgroup, veth (native's), container or state file of the run may remain.
# SIGTERM and SIGINT must leave nothing without doctor. Exit 77 when the driver cannot run here.
# Engine images are not checked here: they are named by content, not by run (conformance.sh checks
# that the rootfs image is imported once and reused).
. "$SRCDIR/tests/integration/lib.sh"
drv=${1:?usage: crash.sh DRIVER}
sb=$SANDBENCH
[ "$(id -u)" -eq 0 ] || skip "crash tests need root"
[ -n "${SANDBENCH_AGENT:-}" ] || skip "SANDBENCH_AGENT not set"
params=()
# native leaves nothing outside its processes unless a box has a cgroup or a veth: ask for both,
# so a SIGKILL leaves something for doctor to find.
[ "$drv" = native ] && params=(--param cgroups=1 --param net=veth)
[ "$drv" = cmd ] && params=(--param "config=$SRCDIR/docs/examples/cmd-bwrap.conf")
. "$SRCDIR/tests/conformance/hostfix.sh"
trap 'restore_hosts; rm -rf "$TMP"' EXIT
hostfix_prepare "$drv" "${params[@]}"
err=$($sb exec --driver "$drv" "${params[@]}" -- true 2>&1 >/dev/null) ||
	skip "$drv: ${err#sandbench: error: }"

docker_cli=${SANDBENCH_DOCKER:-$(command -v docker)}
# Other runs (other tests, other people) share this host: only what carries the id of our run
# counts. Each run is named (SANDBENCH_RUN_ID); box names are sb-<its first 8 characters>-<n>;
# native boxes are also known by the ids their markers give (learn_markers).
rid=none veths= ids=
ours() {
	local pats=(-e "-$rid-") i
	for i in $ids; do pats+=(-e "$i"); done
	grep -F "${pats[@]}" | grep -v '^$' || true
}
# Everything of our run left on the host, one item per line: state and marker files, mounts,
# cgroups, veths, containers, processes.
snapshot() {
	local names=(-name "*-$rid-*") i
	for i in $ids; do names+=(-o -name "*$i*"); done
	{
		find /run/sandbench -mindepth 2 -maxdepth 2 \( "${names[@]}" \) 2>/dev/null | sed 's/^/state /'
		awk '$5 ~ "sandbench" || $4 ~ "sandbench" {print "mount " $5}' /proc/self/mountinfo
		find /sys/fs/cgroup -mindepth 1 -maxdepth 4 -type d \( "${names[@]}" \) 2>/dev/null | sed 's/^/cgroup /'
		for v in $veths; do ip link show "$v" >/dev/null 2>&1 && echo "veth $v of sb-$rid-"; done
		case $drv in
		crun | runc) $drv list -q 2>/dev/null | sed "s/^/$drv-container /" ;;
		podman | podman-runc) podman ps -a --filter "label=sandbench.driver=$drv" --format 'container {{.Names}}' ;;
		docker) $docker_cli ps -a --filter "label=sandbench.driver=$drv" --format 'container {{.Names}}' ;;
		containerd) ctr -n sandbench containers ls -q 2>/dev/null | sed 's/^/container /' ;;
		esac
		pgrep -af -- "sb-$rid-" 2>/dev/null | sed 's/^[0-9]* /process /'
	} | ours | sort
}
descendants() { local c; for c in $(cat /proc/$1/task/*/children 2>/dev/null); do echo "$c"; descendants "$c"; done; }
# What only the markers of sandbench $1 name (native boxes are known by an id of their own, and
# their veths by a slot): learned while it runs, so that what outlives the markers still counts.
learn_markers() {
	local f
	[ "$drv" = native ] || return 0
	for f in $(grep -lE "^owner=$1$" /run/sandbench/native/* 2>/dev/null); do
		veths="$veths $(sed -n 's/^veth=//p' "$f")"
		ids="$ids ${f##*/}"
	done
}
settle() { # until nothing new of our run is left (up to $1 s, default 5); prints what is
	local left
	for i in $(seq $((${1:-5} * 10))); do
		left=$(snapshot)
		[ -z "$left" ] && break
		sleep 0.1
	done
	printf '%s' "$left"
}
# Start `sandbench run ARGS` in the background, wait until its box shows on the host, wait $1 s more.
start_run() {
	local delay=$1; shift
	local id
	id=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	rid=${id:0:8} veths= ids=
	SANDBENCH_RUN_ID=$id $sb run "$@" --driver "$drv" "${params[@]}" --warmup 0 --out "$TMP/out" \
		> /dev/null 2> "$TMP/run.err" &
	pid=$!
	seen=
	local until=$((SECONDS + 20))
	while [ $SECONDS -lt $until ] && kill -0 $pid 2>/dev/null; do
		learn_markers $pid
		[ -n "$(snapshot)" ] && { seen=1; break; }
		sleep 0.02
	done
	sleep "$delay"
	learn_markers $pid
}

phases=(
	"create|0|latency-spawn --runs 100000"
	"exec|0.5|latency-spawn --runs 1 --param work=30"
	"burst|0.5|latency-shell-pool --runs 100000 --param levels=8"
)
for ph in "${phases[@]}"; do
	IFS='|' read -r what delay args <<<"$ph"
	# shellcheck disable=SC2086
	start_run "$delay" $args
	kill -0 $pid 2>/dev/null || { fail "SIGKILL during $what: the run ended first: $(head -c 300 "$TMP/run.err")"; continue; }
	[ -n "$seen" ] || { fail "SIGKILL during $what: no box of the run seen"; kill -KILL $pid; continue; }
	kill -KILL $pid; wait $pid 2>/dev/null
	# What dies with its parent (bwrap's --die-with-parent, pdeath signals) may take a moment.
	left=$(settle 1)
	found=$($sb doctor --drivers "$drv" 2>/dev/null | awk '/^  [0-9]+ found/ {print $1; exit}')
	if [ -n "$left" ] && [ "${found:-0}" -eq 0 ]; then
		fail "SIGKILL during $what left $(echo "$left" | wc -l) item(s) doctor does not list: $(echo $left | head -c 300)"
	fi
	$sb doctor --clean --drivers "$drv" > "$TMP/clean.out" 2>&1 || fail "doctor --clean after $what: $(cat "$TMP/clean.out")"
	left=$(settle)
	[ -z "$left" ] && ok "SIGKILL during $what: doctor --clean leaves nothing ($found found)" ||
		fail "SIGKILL during $what, after doctor --clean: $(echo $left | head -c 400)"
done
for sig in TERM INT; do
	case $sig in TERM) want=143; args="latency-spawn --runs 1 --param work=30" ;;
	INT) want=130; args="latency-shell-pool --runs 100000 --param levels=8" ;; esac
	# shellcheck disable=SC2086
	start_run 0.5 $args
	[ -n "$seen" ] || fail "SIG$sig: no box of the run seen"
	kill -$sig $pid; wait $pid; rc=$?
	left=$(settle)
	[ $rc -eq $want ] && [ -z "$left" ] && ok "SIG$sig: exit $rc, nothing left" ||
		fail "SIG$sig: exit $rc (want $want), left: $(echo $left | head -c 400)"
	$sb doctor --clean --drivers "$drv" > /dev/null 2>&1
done
finish
