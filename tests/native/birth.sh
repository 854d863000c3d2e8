#!/bin/bash
# The birth helper (src/native/birth.c): cold native boxes made while others are being made (a
# burst) are cloned from one small process that sandbench forks, not from sandbench itself.
# Checked on a real burst (latency-tti, 40 boxes at once, run after run):
#  - sandbench has exactly one child `sb-native-birth`, and the boxes' inits are its children
#    (but the few made while no other was: the burst's first and last);
#  - the helper reaps its boxes (no zombie piles up under it) and is single-threaded; its
#    capability bounding set is empty, and so are its boxes';
#  - SIGKILL of sandbench mid-burst: the helper and every box seen die, nothing of the run stays;
#  - SIGTERM mid-burst: exit 143, the same;
#  - SIGKILL of the helper mid-burst: sandbench goes on, cloning boxes itself;
#  - birth=0: boxes are children of sandbench again, no helper;
#  - boxes made one at a time (a one-shot `sandbench exec`, latency-tti sequential) start no helper.
# Root only (native as root); exit 77 when native cannot run here.
. "$SRCDIR/tests/integration/lib.sh"
sb=$SANDBENCH
[ "$(id -u)" -eq 0 ] || skip "the birth helper test needs root"
[ -n "${SANDBENCH_AGENT:-}" ] || skip "SANDBENCH_AGENT not set"
err=$($sb exec --driver native -- true 2>&1 >/dev/null) || skip "native: ${err#sandbench: error: }"

children() { cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -v '^$'; }
comm_of() { cat /proc/"$1"/comm 2>/dev/null; }
# Start a burst run in the background; $pid is sandbench.
start_burst() {
	# settle=0: bursts back to back, so boxes are always there to look at.
	$sb run latency-tti --driver native --param mode=${mode:-burst} --param n=40 --param settle=0 --runs 100000 --warmup 0 "$@" \
		--out "$TMP/out" > /dev/null 2> "$TMP/run.err" &
	pid=$!
}
# Until a box of sandbench $pid shows up (up to 20 s): sets $helper (or empty) and $inits.
wait_boxes() {
	local until=$((SECONDS + 20)) c
	helper= inits=
	while [ $SECONDS -lt $until ] && kill -0 $pid 2>/dev/null; do
		helper= inits=
		for c in $(children $pid); do
			case $(comm_of "$c") in
			sb-native-birth) helper="$helper $c" ;;
			sb-native-init) inits="$inits $c" ;;
			esac
		done
		for c in $helper; do
			for k in $(children "$c"); do
				[ "$(comm_of "$k")" = sb-native-init ] && inits="$inits $k"
			done
		done
		[ -n "$inits" ] && return 0
		sleep 0.01
	done
	return 1
}
# Until a birth helper of sandbench $pid shows up (up to 20 s): the first boxes of a burst may be
# sandbench's own (the helper starts at the first overlap of two creates; slow under ASan).
wait_helper() {
	local until=$((SECONDS + 20))
	while [ $SECONDS -lt $until ]; do
		wait_boxes || return 1
		[ -n "$helper" ] && return 0
		sleep 0.05
	done
	return 1
}
# Wait for sandbench $pid to exit (up to 20 s, then SIGKILL and a failure); its status in $rc.
reap_run() {
	local i
	for i in $(seq 200); do
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	kill -0 $pid 2>/dev/null && { fail "$1: sandbench still runs 20 s later"; kill -KILL $pid; }
	wait $pid 2>/dev/null
	rc=$?
}
# Every pid in $1 gone (or reused by something that is not a box) within 5 s.
all_gone() {
	local p i
	for i in $(seq 50); do
		local left=
		for p in $1; do
			case $(comm_of "$p") in sb-native-*) left="$left $p" ;; esac
		done
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	echo "$left"
	return 1
}

# 1. Who is whose child, during a burst. The helper starts at the first overlap of two creates, so
# the first boxes may be sandbench's own (slow under ASan): look until a box is under a helper.
start_burst
under_helper() { local c; for c in $helper; do [ -n "$(children "$c")" ] && return 0; done; return 1; }
seen_boxes=false
for try in $(seq 100); do
	wait_boxes || break
	seen_boxes=true
	under_helper && break
	sleep 0.05
done
if ! $seen_boxes; then
	fail "no box of the burst seen: $(head -c 300 "$TMP/run.err")"
else
	nh=$(echo $helper | wc -w)
	[ "$nh" -eq 1 ] && ok "sandbench has one birth helper ($helper)" || fail "sandbench has $nh birth helpers:$helper"
	direct=0 under=0 seen="$helper"
	sleep 1 # several bursts go by: boxes are born and die meanwhile
	for round in $(seq 20); do
		for c in $(children $pid); do [ "$(comm_of "$c")" = sb-native-init ] && direct=$((direct + 1)); done
		for h in $helper; do
			for k in $(children "$h"); do
				[ "$(comm_of "$k")" = sb-native-init ] && under=$((under + 1)) && seen="$seen $k"
			done
		done
		sleep 0.02
	done
	[ $under -gt 0 ] && [ $((direct * 4)) -le $under ] &&
		ok "the boxes' inits are the helper's children ($under seen, $direct directly under sandbench)" ||
		fail "boxes under the helper: $under, directly under sandbench: $direct"
	h=${helper# }
	threads=$(awk '/^Threads:/ {print $2}' /proc/"$h"/status 2>/dev/null)
	[ "${threads:-0}" -eq 1 ] && ok "the helper is single-threaded" || fail "the helper has ${threads:-?} threads"
	# The helper empties its bounding set once, so the boxes it clones start with none.
	bnd=$(awk '/^CapBnd:/ {print $2}' /proc/"$h"/status 2>/dev/null)
	[ "$bnd" = 0000000000000000 ] && ok "the helper's bounding set is empty" || fail "the helper's CapBnd is ${bnd:-?}"
	box_bnd=$(for k in $(children "$h"); do awk '/^CapBnd:/ {print $2}' /proc/"$k"/status 2>/dev/null; done | sort -u | tr '\n' ' ')
	[ -z "$box_bnd" ] || [ "$box_bnd" = "0000000000000000 " ] && ok "its boxes' bounding sets are empty" ||
		fail "CapBnd of the helper's boxes: $box_bnd"
	zombies=$(for k in $(children "$h"); do awk '/^State:/ {print $2}' /proc/"$k"/status 2>/dev/null; done | grep -c Z)
	[ "$zombies" -eq 0 ] && ok "the helper's dead boxes are reaped (no zombie under it)" ||
		fail "$zombies zombies under the helper: its boxes are not reaped"
	# 2. SIGKILL mid-burst: the helper and every box seen die with sandbench.
	wait_boxes && seen="$seen $helper $inits"
	kill -KILL $pid
	reap_run SIGKILL
	left=$(all_gone "$seen") && ok "SIGKILL mid-burst: helper and boxes gone" ||
		fail "SIGKILL mid-burst left processes:$left"
fi

# 3. SIGTERM mid-burst: a clean exit, nothing left.
start_burst
if wait_boxes; then
	seen="$helper $inits"
	kill -TERM $pid
	reap_run SIGTERM
	left=$(all_gone "$seen")
	[ $rc -eq 143 ] && [ -z "$left" ] && ok "SIGTERM mid-burst: exit 143, helper and boxes gone" ||
		fail "SIGTERM mid-burst: exit $rc, left:$left"
else
	fail "SIGTERM run: no box seen: $(head -c 300 "$TMP/run.err")"
	kill -KILL $pid 2>/dev/null
fi

# 4. The helper killed mid-burst: sandbench goes on, cloning its boxes itself.
start_burst
if wait_helper; then
	h=${helper# }
	kill -KILL "$h"
	sleep 1
	seen=
	direct=0
	for round in $(seq 100); do
		for c in $(children $pid); do
			# Live ones only: the killed helper's boxes are re-parented here as they die.
			[ "$(comm_of "$c")" = sb-native-init ] && ! grep -q '^State:.*Z' /proc/"$c"/status 2>/dev/null &&
				direct=$((direct + 1)) && seen="$seen $c"
		done
		[ $direct -gt 5 ] && break
		sleep 0.05
	done
	kill -0 $pid 2>/dev/null && [ $direct -gt 5 ] && ok "helper killed: sandbench goes on, cloning boxes itself" ||
		fail "helper killed: sandbench alive? $(kill -0 $pid 2>/dev/null && echo yes || echo no), boxes directly under it: $direct"
	kill -TERM $pid
	reap_run "helper killed, SIGTERM"
	left=$(all_gone "$seen") || fail "helper killed, SIGTERM left processes:$left"
else
	fail "helper-kill run: no helper seen: $(head -c 300 "$TMP/run.err")"
	kill -KILL $pid 2>/dev/null
fi

# 5. birth=0: boxes are cloned by sandbench itself.
start_burst --param birth=0
if wait_boxes; then
	[ -z "$helper" ] && ok "birth=0: no helper, boxes are sandbench's children" ||
		fail "birth=0: a helper was started:$helper"
	seen="$inits"
	kill -KILL $pid
	reap_run "birth=0 SIGKILL"
	left=$(all_gone "$seen") || fail "birth=0: SIGKILL left processes:$left"
else
	fail "birth=0: no box seen: $(head -c 300 "$TMP/run.err")"
	kill -KILL $pid 2>/dev/null
fi
# 6. One box at a time, no helper: neither a one-shot exec nor a sequential run pays for one.
mode=sequential start_burst
if wait_boxes; then
	sleep 1
	wait_boxes
	[ -z "$helper" ] && ok "sequential: no helper" || fail "sequential boxes started a helper:$helper"
else
	fail "sequential: no box seen: $(head -c 300 "$TMP/run.err")"
fi
kill -TERM $pid
reap_run "sequential SIGTERM"
$sb exec --driver native -- sleep 2 > /dev/null 2> "$TMP/run.err" &
pid=$!
if wait_boxes; then
	[ -z "$helper" ] && ok "one-shot exec: no helper" || fail "one-shot exec started a helper:$helper"
else
	fail "one-shot exec: no box seen: $(head -c 300 "$TMP/run.err")"
fi
reap_run "one-shot exec"
[ $rc -eq 0 ] || fail "one-shot exec: exit $rc: $(head -c 300 "$TMP/run.err")"
finish
