#!/bin/bash
# SIGTERM/SIGINT mid-run: the report is still written (status error, reason interrupted), the exit
# code is 143/130, and no process the run started survives, not even one that left its group.
. "$(dirname "$0")/lib.sh"
sb=$SANDBENCH
[ -n "${SANDBENCH_AGENT:-}" ] || skip "SANDBENCH_AGENT not set"

tag=$$$RANDOM  # digits only: it is part of sleep's interval
size=$((100 * 1024 * 1024 * 1024 + RANDOM))
$sb run throughput-stdout --param size=$size --runs 3 --warmup 0 --timeout 600 --out "$TMP/r.json" &
pid=$!
for i in $(seq 50); do pgrep -f "stream $size" >/dev/null && break; sleep 0.1; done
pgrep -f "stream $size" >/dev/null && ok "agent streaming" || fail "agent never started"
kill -TERM $pid; wait $pid; rc=$?
[ $rc -eq 143 ] && ok "exit 143 after SIGTERM" || fail "exit $rc after SIGTERM"
gone "stream $size" 5 && ok "no agent left" || fail "agent survived"
/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["status"]=="error" and r["reason"]=="interrupted", r["status"]' "$TMP/r.json" \
	&& ok "report says interrupted" || fail "report missing or not interrupted"
validate "$TMP/r.json" >/dev/null && ok "interrupted report validates" || fail "interrupted report invalid"

# exec: the command, its background child, and a grandchild that escaped into its own session.
$sb exec --driver process -- sh -c "setsid sleep 1${tag}1 & sleep 1${tag}2 & sleep 1${tag}3" &
pid=$!
for i in $(seq 50); do [ "$(pgrep -fc "sleep 1${tag}[123]")" -ge 3 ] && break; sleep 0.1; done
kill -INT $pid; wait $pid; rc=$?
[ $rc -eq 130 ] && ok "exit 130 after SIGINT" || fail "exit $rc after SIGINT"
gone "sleep 1${tag}[123]" 5 && ok "no descendant left (reaper)" || { fail "left behind:"; pgrep -af "sleep 1${tag}[123]"; pkill -f "sleep 1${tag}[123]"; }
finish
