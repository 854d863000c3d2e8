#!/bin/bash
# The qemu driver end to end (qemu.sh QEMU_OPS): builds the minimal guest kernel into the image
# cache when it is not there yet (minutes, once: later runs reuse it), then qemu_ops (boot, exec,
# stats and boot phases, agent connections, copy in/out, snapshot + restore, stop/destroy leave
# nothing, a silent guest killed at its deadline, corrupt kernel and initramfs), then the CLI:
# sandbench exec, scenario runs whose reports carry accel/kernel tags, and doctor after a SIGKILL.
# Runs under TCG (QEMU_ACCEL overrides). Exit 77 when QEMU or the kernel cannot be had here.
. "$SRCDIR/tests/integration/lib.sh"
ops=${1:?usage: qemu.sh QEMU_OPS}
sb=$SANDBENCH
[ "$(id -u)" -eq 0 ] || skip "the qemu driver's tests need root (/run/sandbench, the image cache)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed (scripts/deps.sh runtimes)"
if ! ls /usr/src/linux-source-*.tar.xz >/dev/null 2>&1 && ! $sb image build --kernel minimal >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-source-6.1 >/dev/null 2>&1 ||
		skip "linux-source-6.1 cannot be installed here: no minimal guest kernel"
fi
t0=$(date +%s)
kdir=$(nice $sb image build --kernel minimal 2> "$TMP/kernel.err") || { fail "kernel build: $(tail -1 "$TMP/kernel.err")"; finish; }
ok "minimal guest kernel: $kdir ($(cat "$TMP/kernel.err"), $(( $(date +%s) - t0 )) s)"

export QEMU_ACCEL=${QEMU_ACCEL:-tcg}
"$ops" || fail "qemu_ops"

p=(--param accel=$QEMU_ACCEL)
out=$($sb exec --driver qemu "${p[@]}" -- echo hi 2> "$TMP/exec.err")
[ "$out" = hi ] && ok "sandbench exec echo hi" || fail "exec printed '$out': $(cat "$TMP/exec.err")"
$sb exec --driver qemu "${p[@]}" -- sh -c 'exit 7' 2>/dev/null; rc=$?
[ $rc -eq 7 ] && ok "exec exit status" || fail "exec exit status $rc, expected 7"
[ "$(echo piped | $sb exec --driver qemu "${p[@]}" -- cat 2>/dev/null)" = piped ] && ok "exec stdin" || fail "exec stdin"
$sb exec --driver qemu "${p[@]}" -- test -e "$SRCDIR/README.md" 2>/dev/null && fail "host files visible inside" || ok "host files hidden"
expect_error "bad accel" "accel must be auto, kvm or tcg" $sb exec --driver qemu --param accel=xen -- true

$sb run latency-spawn latency-exec-output latency-shell-pool --driver qemu "${p[@]}" --runs 3 --warmup 1 \
	--param levels=1,2 --out "$TMP/reports" > "$TMP/table.txt" 2> "$TMP/run.err"; rc=$?
[ $rc -eq 0 ] && ok "three scenarios on qemu" || fail "run exit $rc: $(head -c 600 "$TMP/run.err")"
validate "$TMP/reports" >/dev/null && ok "reports validate" || fail "reports do not validate"
/usr/bin/python3 - "$TMP/reports" <<'PY' && ok "reports ok, tagged accel and kernel" || fail "report contents"
import json, pathlib, sys
rs = [json.loads(f.read_text()) for f in pathlib.Path(sys.argv[1]).glob("*.json")]
assert len(rs) == 3, len(rs)
for r in rs:
    assert r["status"] == "ok", (r["scenario"]["name"], r.get("reason"))
    assert r["tags"].get("accel") in ("tcg", "kvm") and r["tags"].get("kernel") == "minimal", r["tags"]
    life = [a for a in r["aggregates"] if a["metric"] == "lifecycle_ms"]
    if life:
        print(f"  qemu create+true+destroy median {life[0]['p50']:.1f} ms")
PY

# SIGKILL mid-run: doctor finds the VM and its state by the marker and cleans them.
$sb run latency-exec-output --driver qemu "${p[@]}" --runs 100000 --warmup 0 --out "$TMP/killed.json" >/dev/null 2>&1 &
pid=$!
for i in $(seq 300); do
	[ -n "$(ls /run/sandbench/qemu 2>/dev/null | grep -v accel-verdict)" ] && break
	sleep 0.1
done
sleep 2
kill -KILL $pid; wait $pid 2>/dev/null
$sb doctor --drivers qemu > "$TMP/doctor1.txt" 2>&1
grep -q "qemu process" "$TMP/doctor1.txt" && ok "doctor finds the orphaned VM" || fail "doctor missed it: $(cat "$TMP/doctor1.txt")"
$sb doctor --clean --drivers qemu > "$TMP/doctor.txt" 2>&1 && ok "doctor --clean exit 0" || fail "doctor --clean: $(cat "$TMP/doctor.txt")"
left=$(ls /run/sandbench/qemu 2>/dev/null | grep -v accel-verdict)
[ -z "$left" ] && ! pgrep -f 'sandbench-sb-' >/dev/null && ok "nothing left after SIGKILL + doctor --clean" ||
	fail "left: $left $(pgrep -af 'sandbench-sb-')"
finish
