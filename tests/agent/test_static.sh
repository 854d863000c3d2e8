#!/bin/bash
# The agent is a static executable (no PT_INTERP, no NEEDED libraries) and runs in a
# directory that contains nothing but itself.
# Usage: test_static.sh PATH-TO-AGENT
set -u
AGENT=${1:?usage: $0 PATH-TO-AGENT}
fails=0

desc=$(file -L "$AGENT")
case $desc in
*"statically linked"*) echo "ok: file: $desc" ;;
*) echo "FAIL: file does not say statically linked: $desc"; fails=$((fails + 1)) ;;
esac
if readelf -lW "$AGENT" | grep -q 'INTERP'; then
	echo "FAIL: PT_INTERP present"
	fails=$((fails + 1))
fi
if readelf -dW "$AGENT" 2>/dev/null | grep -q 'NEEDED'; then
	echo "FAIL: shared library dependencies present"
	fails=$((fails + 1))
fi
if readelf -sW "$AGENT" | grep -q '__asan_init'; then
	echo "FAIL: agent was built with AddressSanitizer"
	fails=$((fails + 1))
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: empty-chroot check needs root"
	[ $fails -eq 0 ] && exit 77 || exit 1
fi
root=$(mktemp -d /tmp/sb-agent-empty-XXXXXX)
trap 'rm -rf "$root"' EXIT
cp "$AGENT" "$root/sandbench-agent"
out=$(chroot "$root" /sandbench-agent mark 2>&1)
if ! /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["monotonic_ns"] > 0' "$out"; then
	echo "FAIL: mark in empty chroot: $out"
	fails=$((fails + 1))
else
	echo "ok: empty chroot: $out"
fi
out=$(chroot "$root" /sandbench-agent disk-write /f --size 1M 2>&1) ||
	{ echo "FAIL: disk-write in empty chroot: $out"; fails=$((fails + 1)); }
# serve: EOF on stdin right away must end it cleanly, even with no /dev or /proc.
if ! timeout 5 chroot "$root" /sandbench-agent serve </dev/null; then
	echo "FAIL: serve in empty chroot did not exit cleanly on EOF"
	fails=$((fails + 1))
fi
[ $fails -eq 0 ] || exit 1
echo "static checks passed"
