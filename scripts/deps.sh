#!/bin/bash
# Install what sandbench needs from Debian, only what is missing. Groups:
#   build    compiler, meson/ninja, jansson, libseccomp, busybox-static (rootfs), SQLite + libpq (store)
#   test     cmocka, python3-jsonschema (report validation), file, iproute2, hyperfine, postgresql
#   runtimes the sandbox runtimes the integration tests drive (bwrap ...)
set -eu
want=()
add() { for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || want+=("$p"); done; }
for group in "$@"; do
	case $group in
	build) add gcc libc6-dev meson ninja-build pkg-config libjansson-dev libseccomp-dev busybox-static git libsqlite3-dev libpq-dev ;;
	test) add libcmocka-dev python3 python3-jsonschema file iproute2 procps hyperfine util-linux postgresql ;;
	runtimes) add bubblewrap crun runc lxc firejail podman docker.io containerd ;;
	*) echo "deps.sh: unknown group '$group' (build, test, runtimes)" >&2; exit 1 ;;
	esac
done
[ ${#want[@]} -eq 0 ] && exit 0
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps.sh: installing ${want[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
