# Sourced by the qemu driver's tests (conformance.sh qemu, qemu.sh): QEMU must be installed and
# the minimal guest kernel in the image cache. The kernel is built here when the cache lacks it
# (about 4 minutes on 2 cores, once: every later test and CI step reuses it); skips (77) when
# QEMU or Debian's linux-source cannot be had.
[ "$(id -u)" -eq 0 ] || skip "the qemu driver's tests need root (/run/sandbench, the image cache)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed (scripts/deps.sh runtimes)"
if ! ls /usr/src/linux-source-*.tar.xz >/dev/null 2>&1 && ! $SANDBENCH image build --kernel minimal >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-source-6.1 >/dev/null 2>&1 ||
		skip "linux-source-6.1 cannot be installed here: no minimal guest kernel"
fi
qemu_kernel_t0=$(date +%s)
if ! qemu_kernel_dir=$(nice $SANDBENCH image build --kernel minimal 2> "$TMP/kernel.err"); then
	fail "kernel build: $(tail -1 "$TMP/kernel.err")"
	finish
fi
ok "minimal guest kernel: $qemu_kernel_dir ($(cat "$TMP/kernel.err"), $(( $(date +%s) - qemu_kernel_t0 )) s)"
