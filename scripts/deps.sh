#!/bin/bash
# Install what sandbench needs from Debian, only what is missing. Groups:
#   build    compiler, meson/ninja, jansson, libseccomp, libmicrohttpd, busybox-static (rootfs), SQLite +
#            libpq (results store), musl-tools (the agent's libc)
#   test     cmocka, python3-jsonschema (report validation), file, iproute2, hyperfine, chromium +
#            python3-pil (the HTML report loaded and screenshotted headless), prometheus (promtool)
#            and python3-prometheus-client (the metrics endpoint's checks), postgresql (store tests),
#            fio and iperf3 (bench/throughput_crosscheck.sh)
#   runtimes the sandbox runtimes the integration tests drive (bwrap ...)
#   package  man pages (scdoc, man-db), the .deb (debhelper), the container's base (mmdebstrap),
#            the workflow/manifest parsers (python3-yaml)
#   fuzz     clang with libFuzzer and its sanitizers (fuzz/run.sh)
set -eu
want=()
add() { for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || want+=("$p"); done; }
for group in "$@"; do
	case $group in
	build)
		add gcc libc6-dev meson ninja-build pkg-config libjansson-dev libseccomp-dev busybox-static git
		add libmicrohttpd-dev
		add libsqlite3-dev libpq-dev
		add musl-tools ;;
	test)
		add libcmocka-dev python3 python3-jsonschema file iproute2 procps hyperfine util-linux
		add chromium python3-pil
		add prometheus python3-prometheus-client
		add postgresql
		add fio iperf3 ;;
	runtimes)
		add bubblewrap crun runc lxc firejail podman docker.io containerd runsc systemd-container
		# the qemu driver: QEMU, the Linux source and tools for the minimal guest kernel,
		# e2fsprogs for scratch disks, xz-utils for the Debian kernel and source
		add qemu-system-x86 linux-source-6.1 bc flex bison libelf-dev libssl-dev cpio make xz-utils e2fsprogs ;;
	package) add scdoc man-db debhelper dpkg-dev mmdebstrap python3-yaml ;;
	fuzz) add clang ;;
	*) echo "deps.sh: unknown group '$group' (build, test, runtimes, package, fuzz)" >&2; exit 1 ;;
	esac
done
[ ${#want[@]} -eq 0 ] && exit 0
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps.sh: installing ${want[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
