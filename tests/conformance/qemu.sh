#!/bin/bash
# The qemu driver's own checks (qemu.sh QEMU_OPS); the generic ones (exec passthrough, scenarios,
# leftovers, SIGTERM/SIGKILL + doctor) are the conformance suite's (rt-qemu). Makes sure the
# minimal guest kernel is in the image cache (built once), then qemu_ops (boot, exec, stats and
# boot phases, agent ports, copy in/out, snapshot + restore, stop/destroy leave nothing, scratch
# disk and user-mode network, a silent guest killed at its deadline, corrupt kernel and
# initramfs), then the CLI: a scenario whose report carries the accel/kernel tags, another QEMU
# build through bin=PATH, bad parameters, and Debian's kernel (its virtio modules loaded by the
# agent's init) when its package can be downloaded. Runs under TCG (QEMU_ACCEL overrides).
# Exit 77 when QEMU or the kernel cannot be had here.
. "$SRCDIR/tests/integration/lib.sh"
ops=${1:?usage: qemu.sh QEMU_OPS}
sb=$SANDBENCH
. "$SRCDIR/tests/conformance/qemu_kernel.sh"

export QEMU_ACCEL=${QEMU_ACCEL:-tcg}
"$ops" || fail "qemu_ops"

p=(--param accel=$QEMU_ACCEL)
expect_error "bad accel" "parameter accel=xen: expected one of auto|kvm|tcg" $sb exec --driver qemu --param accel=xen -- true
expect_error "bad acpi" "parameter acpi=maybe: expected one of auto|on|off" $sb exec --driver qemu --param acpi=maybe -- true
expect_error "bad tb_size" "tb_size=99999: expected MiB" $sb exec --driver qemu --param tb_size=99999 -- true
expect_error "bad timer" "parameter timer=hpet: expected one of auto|pit|lapic" $sb exec --driver qemu --param timer=hpet -- true

$sb run latency-shell-pool --driver qemu "${p[@]}" --runs 3 --warmup 1 --param levels=1,2 \
	--out "$TMP/reports" > "$TMP/table.txt" 2> "$TMP/run.err"; rc=$?
[ $rc -eq 0 ] && ok "latency-shell-pool on qemu" || fail "run exit $rc: $(head -c 600 "$TMP/run.err")"
/usr/bin/python3 - "$TMP/reports" <<'PY' && ok "report ok, tagged accel and kernel" || fail "report contents"
import json, pathlib, sys
rs = [json.loads(f.read_text()) for f in pathlib.Path(sys.argv[1]).glob("*.json")]
assert len(rs) == 1, len(rs)
r = rs[0]
assert r["status"] == "ok", r.get("reason")
assert r["tags"].get("accel") in ("tcg", "kvm") and r["tags"].get("kernel") == "minimal", r["tags"]
PY

# Another QEMU build: a wrapper that leaves a trace and runs the real one.
printf '#!/bin/sh\necho x >> %s\nexec %s "$@"\n' "$TMP/bin.calls" "$(command -v qemu-system-x86_64)" > "$TMP/qemu-wrapper"
chmod +x "$TMP/qemu-wrapper"
out=$($sb exec --driver qemu "${p[@]}" --param bin="$TMP/qemu-wrapper" -- echo through-wrapper 2> "$TMP/bin.err")
[ "$out" = through-wrapper ] && [ -s "$TMP/bin.calls" ] && ok "bin=PATH runs that QEMU" ||
	fail "bin=PATH: '$out' $(head -c 300 "$TMP/bin.err")"

# Debian's kernel: virtio drivers are modules the agent's init loads, each with the kernel command
# line's module.key=value entries (here virtio_net.csum=0, default Y); microvm's ACPI tables
# describe the devices. Skipped when the package cannot be downloaded here.
if $sb image build --kernel debian > "$TMP/debian.out" 2>&1; then
	out=$($sb exec --timeout 120 --driver qemu "${p[@]}" --param kernel=debian --param append=virtio_net.csum=0 -- sh -c \
		'uname -r; grep -c "^virtio_mmio " /proc/modules; ls /sys/class/virtio-ports | wc -l; cat /sys/module/virtio_net/parameters/csum' \
		2> "$TMP/deb.err")
	case $(echo $out) in
	*cloud*" 1 1 N") ok "kernel=debian boots to the agent, modules loaded with their parameters ($(echo $out))" ;;
	*) fail "kernel=debian: '$(echo $out)' $(head -c 400 "$TMP/deb.err")" ;;
	esac
else
	echo "SKIP (part): Debian's kernel package cannot be had here: $(tail -1 "$TMP/debian.out")"
fi
finish
