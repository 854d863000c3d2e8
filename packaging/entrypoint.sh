#!/bin/bash
# The bench container's entrypoint (packaging/Dockerfile); runs as well straight on a host.
#  1. prints what the numbers depend on: sandbench's commit and compiler, CPU, cores, memory,
#     kernel, cgroup layout, and every driver usable here or why not (also into OUTPUT/system.txt);
#  2. refuses to go on without the privileges sandboxes need (namespaces, writable cgroups), naming
#     what is missing: `docker run --privileged`;
#  3. runs the suite the environment asks for (below), then copies the reports to OUTPUT/reports;
#  4. compares them with a baseline when one is given, and prints the one-line SLO summary;
#  5. exits as `sandbench compare` does: 0 pass, 1 tool error, 2 regression (or an SLO missed),
#     3 warnings (with --fail-on-warn in SANDBENCH_COMPARE_ARGS); 130/143 when interrupted.
# Environment (all optional):
#   SANDBENCH_PROFILE   quick (default), standard or full
#   SANDBENCH_DRIVERS   native (default); one driver runs `sandbench run`, a list (a,b) or `all`
#                       runs `sandbench matrix`
#   SANDBENCH_RUNS      measured iterations per scenario (the verb's default otherwise)
#   SANDBENCH_ARGS      more options for run/matrix, split on spaces (e.g. "--warmup 2")
#   SANDBENCH_OUTPUT    where results go (default /output, mount a volume there)
#   SANDBENCH_BASELINE  a report directory or matrix.json to compare with
#   SANDBENCH_BASELINES a tree of committed baselines (bench/baselines): `sandbench baseline check`
#                       against this host class's, when the build has that verb and the class a baseline
#   SANDBENCH_COMPARE_ARGS  more options for compare (e.g. "--budgets FILE --fail-on-warn")
#   SANDBENCH_SLO       the SLO file for `sandbench slo check` (default /etc/sandbench/slo.json,
#                       else packaging/slo.json beside this script)
#   SANDBENCH_STORE     the results store sandbench records into (a path, postgresql://..., or off;
#                       default OUTPUT/history.db), when this build has one; sandbench reads it itself
#   SANDBENCH_PREPARE_HOST=1  apply `sandbench doctor --prepare-host` for the drivers first and
#                       restore it afterwards (firejail's chroot, dockerd/containerd, crun's cgroups)
#   SANDBENCH_BIN       the sandbench to run (default: the one in PATH)
set -u
sb=${SANDBENCH_BIN:-sandbench}
profile=${SANDBENCH_PROFILE:-quick}
drivers=${SANDBENCH_DRIVERS:-native}
runs=${SANDBENCH_RUNS:-}
out=${SANDBENCH_OUTPUT:-/output}
baseline=${SANDBENCH_BASELINE:-}
baselines=${SANDBENCH_BASELINES:-}
slo=${SANDBENCH_SLO:-}
if [ -z "$slo" ]; then
	# the image's, else the one beside this script (a run from the source tree)
	slo=/etc/sandbench/slo.json
	[ -f "$slo" ] || [ ! -f "$(dirname "$0")/slo.json" ] || slo=$(dirname "$0")/slo.json
fi
store=${SANDBENCH_STORE:-}
prepare=${SANDBENCH_PREPARE_HOST:-0}

say() { printf '%s\n' "$*"; }
die() { printf 'sandbench-entrypoint: %s\n' "$*" >&2; exit 1; }

case $profile in quick | standard | full) ;; *) die "SANDBENCH_PROFILE='$profile' is not quick, standard or full" ;; esac
case $runs in '' | [1-9] | [1-9][0-9] | [1-9][0-9][0-9] | [1-9][0-9][0-9][0-9]) ;;
*) die "SANDBENCH_RUNS='$runs' is not a count from 1 to 9999" ;; esac
[[ $drivers =~ ^[a-z0-9,-]+$ ]] || die "SANDBENCH_DRIVERS='$drivers' is not a driver name or a comma list of them"
command -v "$sb" >/dev/null || die "cannot run '$sb' (set SANDBENCH_BIN or put sandbench in PATH)"
"$sb" --version >/dev/null 2>&1 || die "'$sb --version' failed: is it sandbench?"
[ -z "$baseline" ] || [ -e "$baseline" ] || die "SANDBENCH_BASELINE=$baseline does not exist"
[ -z "$baselines" ] || [ -d "$baselines" ] || die "SANDBENCH_BASELINES=$baselines is not a directory"
[ -z "$baseline" ] || [ -z "$baselines" ] || die "set SANDBENCH_BASELINE or SANDBENCH_BASELINES, not both"
# One probe of every driver (a trial start each): the table printed below and the names checked here.
drivers_table=$("$sb" drivers 2>&1)
known=$(printf '%s\n' "$drivers_table" | awk 'NR > 1 && NF {print $1}' | paste -sd,)
if [ "$drivers" != all ]; then
	for d in ${drivers//,/ }; do
		[[ ,$known, == *,$d,* ]] || die "SANDBENCH_DRIVERS: unknown driver '$d' (known: $known)"
	done
fi
if ! mkdir -p "$out" 2>/dev/null || [ ! -w "$out" ]; then die "cannot write to SANDBENCH_OUTPUT=$out"; fi

work=$(mktemp -d /tmp/sandbench-entry-XXXXXX) || die "cannot make a work directory in /tmp"
prepared=
child=
interrupted=0
cleanup() {
	if [ -n "$prepared" ]; then
		"$sb" doctor --restore-host --drivers "$prepared" >"$work/restore.log" 2>&1 ||
			say "warning: doctor --restore-host --drivers $prepared failed: $(tail -1 "$work/restore.log")"
	fi
	rm -rf "$work"
}
on_signal() {
	interrupted=$1
	[ -n "$child" ] && kill -"$2" "$child" 2>/dev/null
}
# shellcheck disable=SC2317 # called by the traps
trap cleanup EXIT
trap 'on_signal 130 INT' INT
trap 'on_signal 143 TERM' TERM

# Run a command in the background so that a signal to this script (PID 1 in a container) reaches it;
# its exit status in $rc.
run_child() {
	"$@" &
	child=$!
	wait "$child"
	rc=$?
	[ "$interrupted" -ne 0 ] && { wait "$child"; rc=$?; }
	child=
	return 0
}

# --- 1. what the numbers depend on ------------------------------------------------------------
cgroup_layout() {
	local t
	t=$(stat -fc %T /sys/fs/cgroup 2>/dev/null)
	case $t in
	cgroup2fs) echo "v2 (unified)" ;;
	tmpfs) if [ -d /sys/fs/cgroup/unified ]; then echo "hybrid (controllers on v1, v2 at /sys/fs/cgroup/unified)"; else echo "v1"; fi ;;
	*) echo "none found (${t:-no /sys/fs/cgroup})" ;;
	esac
}
version=$("$sb" --version 2>/dev/null)
commit=$(printf '%s\n' "$version" | sed -n '1s/.*(\(.*\)).*/\1/p')
compiler=$(printf '%s\n' "$version" | sed -n '2s/^built with //p')
cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)
os=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}")
mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null)
{
	say "sandbench:  $(printf '%s\n' "$version" | head -1)"
	say "commit:     ${commit:-unknown}"
	say "compiler:   ${compiler:-unknown}"
	say "cpu:        ${cpu:-unknown}"
	say "cores:      $(nproc) usable of $(nproc --all)"
	say "memory:     ${mem:-unknown}"
	say "kernel:     $(uname -srm)"
	say "os:         ${os:-unknown}"
	say "cgroups:    $(cgroup_layout)"
	say "profile:    $profile   drivers: $drivers${runs:+   runs: $runs}"
} >"$work/system.txt"

# --- 2. privileges ----------------------------------------------------------------------------
# What a sandbox needs from the container: CAP_SYS_ADMIN, new namespaces, and cgroups it can write.
lacking=()
capeff=$(awk '/^CapEff/ {print $2}' /proc/self/status)
(((0x${capeff:-0} >> 21) & 1)) || lacking+=("CAP_SYS_ADMIN")
unshare --mount --uts --ipc --net --pid --fork /bin/true 2>/dev/null || lacking+=("new namespaces (unshare fails)")
ro=$(awk '$5 ~ "^/sys/fs/cgroup" && ($6 ~ /(^|,)ro(,|$)/) {print $5; exit}' /proc/self/mountinfo)
[ -z "$ro" ] || lacking+=("writable cgroups ($ro is mounted read-only)")
[ -d /sys/fs/cgroup ] || lacking+=("a cgroup filesystem (/sys/fs/cgroup is missing)")
if [ ${#lacking[@]} -gt 0 ]; then
	missing=$(printf '%s, ' "${lacking[@]}")
	missing=${missing%, }
	privileged="no: lacks $missing"
else
	privileged="yes"
fi
say "privileged: $privileged" >>"$work/system.txt"

say "== sandbench bench container"
cat "$work/system.txt"
if [ ${#lacking[@]} -gt 0 ] && [ "$drivers" != process ]; then
	say ""
	die "sandboxes need privileges this container lacks ($missing): run it with \`docker run --privileged\` (or give the pod securityContext.privileged: true); only SANDBENCH_DRIVERS=process runs without"
fi
say ""
say "== drivers"
printf '%s\n' "$drivers_table" | tee "$work/drivers.txt"
cat "$work/drivers.txt" >>"$work/system.txt"

if [ "$prepare" = 1 ]; then
	# Always by name: a bare --restore-host would also undo fixes other runs on this host rely on.
	fix=$drivers
	[ "$fix" = all ] && fix=$known
	prepared=$fix
	"$sb" doctor --prepare-host --drivers "$fix" >"$work/prepare.log" 2>&1 ||
		say "warning: doctor --prepare-host --drivers $fix did not fix everything"
	say ""
	say "== host fixes (doctor --prepare-host)"
	cat "$work/prepare.log"
fi

# --- 3. the suite -----------------------------------------------------------------------------
extra=()
[ -n "$runs" ] && extra+=(--runs "$runs")
if "$sb" run --help 2>&1 | grep -q -- '--store'; then
	# Without a store named, the history goes with the reports (not into a home directory that
	# vanishes with the container).
	if [ -z "$store" ]; then
		store=$out/history.db
		export SANDBENCH_STORE=$store
	fi
	case $store in
	off | none) ;;
	postgres://* | postgresql://*) say "note: results are recorded into the PostgreSQL store SANDBENCH_STORE names" ;;
	*) say "note: results are recorded into $store" ;;
	esac
elif [ -n "$store" ]; then
	say "note: this sandbench has no results store; the reports are only in $out"
fi
# shellcheck disable=SC2206 # split on purpose: a list of options
[ -n "${SANDBENCH_ARGS:-}" ] && extra+=(${SANDBENCH_ARGS})
if [[ $drivers == *,* || $drivers == all ]]; then
	cmd=("$sb" matrix --drivers "$drivers" --scenarios "$profile" --out "$work/reports" "${extra[@]}")
else
	cmd=("$sb" run --profile "$profile" --driver "$drivers" --out "$work/reports" "${extra[@]}")
fi
say ""
say "== sandbench ${cmd[*]:1}"
run_child "${cmd[@]}"
run_rc=$rc

# Reports alone in OUTPUT/reports (so it validates as a directory of reports), matrix.json beside it.
mkdir -p "$out/reports" || die "cannot make $out/reports"
n=0
for f in "$work"/reports/*.json; do
	[ -e "$f" ] || continue
	dest=$out/reports
	[ "$(basename "$f")" = matrix.json ] && dest=$out || n=$((n + 1))
	cp "$f" "$dest/" || die "cannot copy $(basename "$f") to $dest"
done
cp "$work/system.txt" "$out/system.txt"
say ""
say "== $n report(s) copied to $out/reports"
mountpoint -q "$out" 2>/dev/null || [ -n "${SANDBENCH_OUTPUT:-}" ] ||
	say "note: $out is not a mounted volume: mount one (docker run -v DIR:$out) to keep the reports"
[ "$interrupted" -ne 0 ] && exit "$interrupted"

# --- 4. baseline and SLOs ---------------------------------------------------------------------
compare_rc=0
: >"$work/compare.md"
if [ -n "$baseline" ]; then
	# shellcheck disable=SC2206
	cargs=(${SANDBENCH_COMPARE_ARGS:-})
	say ""
	say "== compare $baseline $out/reports"
	run_child "$sb" compare "$baseline" "$out/reports" --out "$out/compare.json" "${cargs[@]}"
	compare_rc=$rc
	"$sb" compare "$baseline" "$out/reports" --markdown "${cargs[@]}" >"$work/compare.md" 2>&1
elif [ -n "$baselines" ]; then
	here=$(dirname "$0")
	classer=$here/host-class.sh
	[ -f "$classer" ] || classer=$(command -v sandbench-host-class || true)
	class=$([ -n "$classer" ] && bash "$classer")
	say ""
	if ! "$sb" baseline --help >/dev/null 2>&1; then
		say "note: this sandbench has no 'baseline' verb: not checked against $baselines"
	elif [ -z "$class" ] || [ ! -d "$baselines/$class" ]; then
		say "note: no committed baseline for hardware class '${class:-unknown}' in $baselines"
		printf 'No committed baseline for hardware class `%s`.\n' "${class:-unknown}" >"$work/compare.md"
	else
		# shellcheck disable=SC2206
		cargs=(${SANDBENCH_COMPARE_ARGS:-})
		say "== baseline check $out/reports --dir $baselines ($class)"
		run_child "$sb" baseline check "$out/reports" --dir "$baselines" "${cargs[@]}"
		compare_rc=$rc
		baseline=$baselines/$class
		"$sb" baseline check "$out/reports" --dir "$baselines" --markdown "${cargs[@]}" >"$work/compare.md" 2>&1
	fi
fi

slo_rc=0
if "$sb" slo --help >/dev/null 2>&1; then
	if [ -f "$slo" ]; then
		slo_line=$("$sb" slo check --slo "$slo" "$out/reports" 2>&1)
		slo_rc=$?
		slo_line=$(printf '%s\n' "$slo_line" | tail -1)
	else
		slo_line="SLO summary unavailable: no SLO file at $slo (set SANDBENCH_SLO)"
	fi
else
	slo_line="SLO summary unavailable: this sandbench has no 'slo' verb"
fi
say ""
say "$slo_line"
printf '%s\n' "$slo_line" >"$out/slo.txt"

# --- 5. verdict -------------------------------------------------------------------------------
# compare's order: a tool error outranks a regression, which outranks warnings.
final=0
for r in $run_rc $compare_rc $slo_rc; do
	case $r in
	0) ;;
	2) [ $final -eq 1 ] || final=2 ;;
	3) [ $final -eq 0 ] && final=3 ;;
	*) final=1 ;;
	esac
done
{
	say "## sandbench: $profile on $drivers"
	say ""
	say "| | |"
	say "|---|---|"
	sed -n '1,/^privileged/p' "$work/system.txt" | sed 's/^\([a-z]*\): *\(.*\)$/| \1 | \2 |/'
	say ""
	say "**SLO:** $slo_line"
	say ""
	say "**run:** exit $run_rc, $n report(s)$([ -n "$baseline" ] && echo "; **compare:** exit $compare_rc") → **exit $final**"
	if [ "$n" -gt 0 ]; then
		say ""
		say '```'
		"$sb" show "$out"/reports/*.json 2>&1
		say '```'
	fi
	if [ -s "$work/compare.md" ]; then
		say ""
		cat "$work/compare.md"
	fi
} >"$out/summary.md"
say "exit $final (run $run_rc${baseline:+, compare $compare_rc}, slo $slo_rc)"
exit $final
