#!/bin/bash
# The disk scenarios on native hit a disk (issue 12): with the default layer=auto and with
# layer=disk the writable layer lies on the host's disk filesystem, and the report says so
# (disk_fs "overlay", disk_fs_upper the host filesystem under it, not tmpfs); layer=tmpfs says tmpfs.
# A run SIGKILLed mid-iteration leaves its layer directory, which `doctor` lists and
# `doctor --clean` removes. SKIPs when not root, native is unusable, or /var/tmp is a tmpfs.
. "$(dirname "$0")/lib.sh"
sb=$SANDBENCH
[ "$(id -u)" -eq 0 ] || skip "native's layer=disk test needs root"
[ -n "${SANDBENCH_AGENT:-}" ] || skip "SANDBENCH_AGENT not set"
err=$($sb exec --driver native -- true 2>&1 >/dev/null) || skip "native: ${err#sandbench: error: }"
host_fs=$(stat -f -c %T /var/tmp)
case $host_fs in tmpfs | ramfs) skip "/var/tmp is a $host_fs here: no disk to tell apart" ;; esac
[ "$host_fs" = ext2/ext3 ] && host_fs=ext4

for layer in auto disk tmpfs; do
	out=$TMP/$layer
	$sb run throughput-disk-write throughput-disk-rand-write --driver native --param "layer=$layer" --runs 1 \
		--warmup 0 --param size=4M --param ops=50 --param fsync=1 --out "$out" --no-store >/dev/null 2>"$TMP/err" ||
		{ fail "layer=$layer: run: $(tail -2 "$TMP/err")"; continue; }
	want=$host_fs
	[ $layer = tmpfs ] && want=tmpfs
	for f in "$out"/*.json; do
		got=$(/usr/bin/python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["tags"]; print(t.get("disk_fs"), t.get("disk_fs_upper"))' "$f")
		[ "$got" = "overlay $want" ] && ok "layer=$layer ${f##*/}: disk_fs overlay, upper $want" ||
			fail "layer=$layer ${f##*/}: tags '$got', expected 'overlay $want'"
	done
done

# SIGKILL in the middle of an iteration: the layer directory stays for doctor.
$sb run throughput-disk-write --driver native --runs 100000 --warmup 0 --param size=32M --out "$TMP/kill" \
	--no-store >/dev/null 2>&1 &
pid=$!
dirs=
for _ in $(seq 200); do
	dirs=$(ls -d /var/tmp/sandbench-native/"$pid"-* 2>/dev/null)
	[ -n "$dirs" ] && break
	sleep 0.05
done
sleep 0.5
kill -KILL $pid; wait $pid 2>/dev/null
if [ -z "$dirs" ]; then
	fail "no layer directory of the run seen under /var/tmp/sandbench-native"
else
	for _ in $(seq 50); do pgrep -f sb-native-init >/dev/null || break; sleep 0.1; done
	ls -d $dirs >/dev/null 2>&1 && ok "SIGKILL left the layer directory" || fail "the layer directory went without doctor"
	$sb doctor --drivers native > "$TMP/doctor.out" 2>&1
	grep -q "layer /var/tmp/sandbench-native/$pid-" "$TMP/doctor.out" && ok "doctor lists it" ||
		fail "doctor does not list the layer: $(head -c 400 "$TMP/doctor.out")"
	$sb doctor --clean --drivers native > "$TMP/clean.out" 2>&1 || fail "doctor --clean: $(cat "$TMP/clean.out")"
	ls -d $dirs 2>/dev/null && fail "doctor --clean left $dirs" || ok "doctor --clean removed the layer directory"
fi
finish
