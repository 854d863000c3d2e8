#!/bin/bash
# Snapshot -> restore -> exec on a driver with the snapshot capability (`snapshot_restore.sh DRIVER`):
# two rounds of snapshot_restore (a token written into the sandbox's /tmp must come back exactly
# from the restored copy, and the snapshotted sandbox must go on running), then nothing of the
# driver's is left behind. Exit 77 with the probe's reason when the driver cannot run here.
. "$SRCDIR/tests/integration/lib.sh"
drv=${1:?usage: snapshot_restore.sh DRIVER}
tool=${SNAPSHOT_RESTORE:-}
[ "$(id -u)" -eq 0 ] || skip "$drv needs root"
[ -x "$tool" ] || skip "snapshot_restore not built"
state() { ls -1 "/run/sandbench/$drv" 2>/dev/null | grep -v '^probe-'; find /sys/fs/cgroup -maxdepth 6 -type d -name 'sandbench-sb-snap-*' 2>/dev/null; }
before=$(state)
"$tool" "$drv" 2 > "$TMP/out" 2> "$TMP/err"; rc=$?
[ $rc -eq 77 ] && skip "$(cat "$TMP/out")"
sed 's/^/  | /' "$TMP/out" "$TMP/err"
[ $rc -eq 0 ] && [ "$(grep -c '"restore_ms"' "$TMP/out")" -eq 2 ] && ok "2 rounds: restored state read back exactly, original kept running" ||
	fail "snapshot_restore exit $rc"
after=$(state)
[ "$before" = "$after" ] && ok "nothing left behind" || fail "left: $(comm -13 <(echo "$before") <(echo "$after") | tr '\n' ' ')"
finish
