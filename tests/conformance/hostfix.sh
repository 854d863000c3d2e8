# Sourced: the host fixes a runtime needs here, applied the way conformance.sh does it. A driver
# whose probe asks for `doctor --prepare-host` gets it when CI=true or SANDBENCH_PREPARE_HOST=1
# (docker, containerd and firejail always); restore_hosts (call it from the EXIT trap) undoes it.
hostfix_fixed=()
hostfix_prepare() { # DRIVER [PARAMS...]
	local d=$1 why
	shift
	why=$($sb exec --driver "$d" "$@" -- true 2>&1 >/dev/null) && return 0
	case $why in *--prepare-host*) ;; *) return 0 ;; esac
	case $d in docker | containerd | firejail) ;; *)
		[ "${CI:-}" = true ] || [ "${SANDBENCH_PREPARE_HOST:-}" = 1 ] || return 0 ;;
	esac
	echo "$d: applying the host fix (sandbench doctor --prepare-host --drivers $d)"
	$sb doctor --prepare-host --drivers "$d" 2>&1 | sed 's/^/  | /'
	hostfix_fixed+=("$d")
}
restore_hosts() {
	local d
	for d in "${hostfix_fixed[@]}"; do
		echo "restoring the host (sandbench doctor --restore-host --drivers $d)"
		$sb doctor --restore-host --drivers "$d" 2>&1 | sed 's/^/  | /'
	done
	hostfix_fixed=()
}
