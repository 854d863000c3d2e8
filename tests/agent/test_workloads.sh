#!/bin/bash
# Every agent workload prints exactly one JSON line whose numbers are all positive, and
# bad arguments give exactly one stderr line and exit 2. Network tests use 127.0.0.1.
# Usage: test_workloads.sh PATH-TO-AGENT
set -u
AGENT=${1:?usage: $0 PATH-TO-AGENT}
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "SKIP: $PY not found"; exit 77; }
TMP=$(mktemp -d /tmp/sb-agent-wl-XXXXXX)
BG=()
cleanup() {
	for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
fails=0

# check_json NAME FILE: one line, a JSON object, every number > 0, "workload" == NAME.
check_json() {
	"$PY" - "$1" "$2" <<'EOF'
import json, sys
name, path = sys.argv[1], sys.argv[2]
lines = open(path).read().splitlines()
if len(lines) != 1:
    sys.exit(f"{name}: expected 1 line, got {len(lines)}: {lines!r}")
obj = json.loads(lines[0])
if not isinstance(obj, dict):
    sys.exit(f"{name}: not a JSON object")
if obj.get("workload") != name:
    sys.exit(f"{name}: workload field is {obj.get('workload')!r}")
bad = [k for k, v in obj.items()
       if isinstance(v, (int, float)) and not isinstance(v, bool) and not v > 0]
if bad:
    sys.exit(f"{name}: non-positive numbers: {bad} in {lines[0]}")
EOF
}

# run NAME ARGS...: run a workload, check its stdout line.
run() {
	local name=$1
	shift
	if ! "$AGENT" "$@" >"$TMP/out" 2>"$TMP/err"; then
		echo "FAIL: $name exited $?: $(cat "$TMP/err")"
		fails=$((fails + 1))
		return
	fi
	if ! check_json "$name" "$TMP/out"; then
		fails=$((fails + 1))
		return
	fi
	echo "ok: $name $(cat "$TMP/out")"
}

# A free port on 127.0.0.1 (bind to 0, read it back, release).
free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

run disk-write disk-write "$TMP/seq" --size 8M --bs 1M
run disk-read disk-read "$TMP/seq" --bs 1M
run disk-write disk-write "$TMP/odd" --size 100K --bs 3K   # unaligned: buffered path
run disk-read disk-read "$TMP/odd" --bs 3000
run disk-rand disk-rand "$TMP/rand" --size 4M --ops 200
run disk-rand disk-rand "$TMP/rand" --size 4M --ops 100 --write --fsync --seed 7
run disk-rand disk-rand "$TMP/rand" --size 4M --seconds 0.2
run fs-info fs-info "$TMP" --mkdir
run syscall-loop syscall-loop --count 1000
run fork-rate fork-rate --count 20
run mem-bw mem-bw --size 1M --passes 2
run mem-touch mem-touch 16M
run cpu-burn cpu-burn 0.1
run mark mark
"$AGENT" version | "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert d["protocol"] >= 1' ||
	{ echo "FAIL: version JSON"; fails=$((fails + 1)); }
run idle idle </dev/null

# idle --signal-only stays until SIGTERM, then reports.
"$AGENT" idle --signal-only >"$TMP/idle.out" 2>&1 &
ip=$!
sleep 0.2
if ! kill -0 $ip 2>/dev/null; then
	echo "FAIL: idle --signal-only exited early"
	fails=$((fails + 1))
fi
kill -TERM $ip
wait $ip
check_json idle "$TMP/idle.out" && grep -q '"reason":"signal"' "$TMP/idle.out" ||
	{ echo "FAIL: idle after SIGTERM: $(cat "$TMP/idle.out")"; fails=$((fails + 1)); }

# stream: stdout is exactly SIZE bytes of data, the JSON line goes to stderr.
"$AGENT" stream 3M >"$TMP/stream.data" 2>"$TMP/stream.json"
size=$(stat -c %s "$TMP/stream.data")
[ "$size" = 3145728 ] || { echo "FAIL: stream wrote $size bytes"; fails=$((fails + 1)); }
check_json stream "$TMP/stream.json" || fails=$((fails + 1))

# true: a silent no-op.
out=$("$AGENT" true 2>&1) && [ -z "$out" ] || { echo "FAIL: true"; fails=$((fails + 1)); }

# TCP: sink + source.
port=$(free_port)
"$AGENT" tcp-sink --port "$port" --addr 127.0.0.1 >"$TMP/sink.out" 2>"$TMP/sink.err" &
sp=$!
BG+=("$sp")
run tcp-source tcp-source --addr 127.0.0.1 --port "$port" --size 16M
wait $sp
check_json tcp-sink "$TMP/sink.out" && grep -q '"bytes":16777216' "$TMP/sink.out" ||
	{ echo "FAIL: tcp-sink: $(cat "$TMP/sink.out" "$TMP/sink.err")"; fails=$((fails + 1)); }

# TCP: connect rate against the accept-loop helper.
port=$(free_port)
"$AGENT" tcp-accept-loop --port "$port" --count 50 >"$TMP/acc.out" 2>"$TMP/acc.err" &
ap=$!
BG+=("$ap")
run tcp-connect-rate tcp-connect-rate --addr 127.0.0.1 --port "$port" --count 50
wait $ap
check_json tcp-accept-loop "$TMP/acc.out" && grep -q '"accepted":50' "$TMP/acc.out" ||
	{ echo "FAIL: tcp-accept-loop: $(cat "$TMP/acc.out" "$TMP/acc.err")"; fails=$((fails + 1)); }

# TCP: --port 0 publishes the kernel's choice; four streams report per-stream rates and a spread;
# the receiver names the peer it saw.
rm -f "$TMP/port"
"$AGENT" tcp-sink --port 0 --port-file "$TMP/port" --streams 4 --max 8M >"$TMP/sink4.out" 2>"$TMP/sink4.err" &
BG+=("$!")
port=$("$AGENT" wait-file "$TMP/port" --timeout 5)
run tcp-source tcp-source --addr 127.0.0.1 --port "$port" --size 8M --streams 4
wait "${BG[-1]}"
check_json tcp-sink "$TMP/sink4.out" && grep -q '"streams":4,"stream_mib_per_s":\[' "$TMP/sink4.out" &&
	grep -q '"peer":"127.0.0.1"' "$TMP/sink4.out" ||
	{ echo "FAIL: tcp-sink --streams 4: $(cat "$TMP/sink4.out" "$TMP/sink4.err")"; fails=$((fails + 1)); }

# TCP: echo + round trips.
rm -f "$TMP/port"
"$AGENT" tcp-echo --port 0 --port-file "$TMP/port" >"$TMP/echo.out" 2>&1 &
BG+=("$!")
port=$("$AGENT" wait-file "$TMP/port" --timeout 5)
run tcp-rtt tcp-rtt --addr 127.0.0.1 --port "$port" --count 100
wait "${BG[-1]}"
check_json tcp-echo "$TMP/echo.out" || fails=$((fails + 1))

# A peer that never reads: the sender stops at its deadline (exit 3), saying how far it got.
rm -f "$TMP/port"
"$AGENT" tcp-sink --port 0 --port-file "$TMP/port" --mute --timeout 4 >/dev/null 2>&1 &
BG+=("$!")
port=$("$AGENT" wait-file "$TMP/port" --timeout 5)
start=$(date +%s%N)
"$AGENT" tcp-source --addr 127.0.0.1 --port "$port" --size 1G --timeout 1 >"$TMP/stuck.out" 2>"$TMP/stuck.err"
rc=$?
took=$(( ($(date +%s%N) - start) / 1000000 ))
if [ $rc -eq 3 ] && [ "$took" -lt 3000 ] && grep -q "deadline passed, killed after [0-9]* bytes" "$TMP/stuck.err"; then
	echo "ok: stuck transfer stopped at its deadline in ${took} ms: $(cat "$TMP/stuck.err")"
else
	echo "FAIL: stuck transfer: rc=$rc after ${took} ms: $(cat "$TMP/stuck.err")"; fails=$((fails + 1))
fi
# A sink refuses more than --max.
rm -f "$TMP/port"
"$AGENT" tcp-sink --port 0 --port-file "$TMP/port" --max 1M >/dev/null 2>"$TMP/max.err" &
mp=$!
port=$("$AGENT" wait-file "$TMP/port" --timeout 5)
"$AGENT" tcp-source --addr 127.0.0.1 --port "$port" --size 4M --timeout 5 >/dev/null 2>&1
wait $mp; rc=$?
[ $rc -eq 1 ] && grep -q "more than --max" "$TMP/max.err" && echo "ok: sink --max" ||
	{ echo "FAIL: sink --max: rc=$rc $(cat "$TMP/max.err")"; fails=$((fails + 1)); }

# Bad arguments: exit 2, exactly one stderr line, nothing on stdout.
bad() {
	"$AGENT" "$@" >"$TMP/bad.out" 2>"$TMP/bad.err" </dev/null
	local rc=$? lines
	lines=$(wc -l <"$TMP/bad.err")
	if [ $rc -ne 2 ] || [ "$lines" -ne 1 ] || [ -s "$TMP/bad.out" ]; then
		echo "FAIL: '$*' gave rc=$rc, $lines stderr lines: $(cat "$TMP/bad.err")"
		fails=$((fails + 1))
	else
		echo "ok: bad args '$*': $(cat "$TMP/bad.err")"
	fi
}
bad
bad no-such-command
bad disk-write
bad disk-write "$TMP/x"
bad disk-write "$TMP/x" --size 12Q
bad disk-write "$TMP/x" --size 1M --bs
bad disk-write "$TMP/x" --size 1M extra
bad disk-read
bad disk-read "$TMP/x" --bogus
bad disk-rand "$TMP/x" --size 1M
bad disk-rand "$TMP/x" --size 1K --ops 5
bad disk-rand "$TMP/x" --size 1M --ops 5 --fsync
bad disk-rand "$TMP/x" --size 1M --ops -3
bad tcp-sink
bad tcp-sink --port 70000
bad tcp-sink --port 1234 --addr localhost
bad tcp-source --addr 127.0.0.1 --port 1234
bad tcp-source --addr ::zz --port 1 --size 1
bad tcp-connect-rate --addr 127.0.0.1 --port 1
bad tcp-accept-loop --port 1 --count 0
bad mem-touch
bad mem-touch lots
bad cpu-burn
bad cpu-burn -1
bad cpu-burn nan
bad stream
bad stream 0
bad mark now
bad idle --forever
bad fs-info
bad syscall-loop --count 0
bad fork-rate --count x
bad mem-bw --size 1
bad tcp-sink --port 0 --streams 0
bad tcp-rtt --addr 127.0.0.1 --port 1 --count 1 --size 1M
bad wait-file
bad serve --fd 999
bad serve extra
bad version extra

if [ $fails -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "all workload checks passed"
