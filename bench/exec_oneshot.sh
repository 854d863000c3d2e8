#!/bin/bash
# Benchmark (not a test): a one-shot `sandbench exec --driver native -- /bin/true`, timed from
# outside as a user would (hyperfine -N), beside bwrap's own one-shot of /bin/true on the same
# standard rootfs with every namespace unshared. Both commands run in one hyperfine call per
# round (hyperfine alternates nothing, so rounds alternate the order); prints the medians and the
# ratio native/bwrap. Goal: ratio <= 1.0. With BEFORE=/path/to/an/older/sandbench, that binary's
# one-shot runs in the same rounds too (before/after of a change, side by side).
# Usage: [BEFORE=SANDBENCH] bench/exec_oneshot.sh [BUILD_DIR] [RUNS_PER_ROUND] [ROUNDS]   (as root)
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${2:-100}
rounds=${3:-4}
sb=$(readlink -f "$build/src/cli/sandbench")
export SANDBENCH_AGENT=$(readlink -f "$build/src/agent/sandbench-agent")
[ -x "$sb" ] || { echo "build first: meson setup $build && ninja -C $build" >&2; exit 1; }
command -v hyperfine > /dev/null || { echo "hyperfine is missing (apt-get install hyperfine)" >&2; exit 1; }
command -v bwrap > /dev/null || { echo "bwrap is missing (apt-get install bubblewrap)" >&2; exit 1; }
rootfs=$("$sb" image build 2> /dev/null)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
native="$sb exec --driver native -- /bin/true"
bwrap="bwrap --ro-bind $rootfs / --proc /proc --dev /dev --tmpfs /tmp --unshare-all --die-with-parent /bin/true"
before=""
[ -n "${BEFORE:-}" ] && before="$(readlink -f "$BEFORE") exec --driver native -- /bin/true"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
	cmds=("$native" "$bwrap")
	[ -n "$before" ] && cmds+=("$before")
	# Rotate the order each round: no command always runs first or last.
	order=()
	for i in "${!cmds[@]}"; do order+=("${cmds[$(((i + r) % ${#cmds[@]}))]}"); done
	hyperfine -N --runs "$runs" --warmup 10 --export-json "$tmp/r$r.json" "${order[@]}" > /dev/null 2>&1
done
/usr/bin/python3 - "$tmp" "$rounds" "$native" "$bwrap" "$before" <<'PY'
import json, statistics, sys
tmp, rounds, native, bwrap, before = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
n, b, o = [], [], []
for r in range(1, rounds + 1):
    for res in json.load(open(f"{tmp}/r{r}.json"))["results"]:
        {native: n, bwrap: b, before: o}[res["command"]].append(res["median"] * 1000)
ratios = [x / y for x, y in zip(n, b)]
if o:
    print("before (BEFORE) median per round (ms):               ", " ".join(f"{x:.2f}" for x in o))
    print(f"ratio before/bwrap: {statistics.median([x / y for x, y in zip(o, b)]):.2f}")
print(f"rounds: {rounds}")
print("sandbench exec --driver native median per round (ms):", " ".join(f"{x:.2f}" for x in n))
print("bwrap one-shot median per round (ms):                ", " ".join(f"{x:.2f}" for x in b))
print(f"ratio native/bwrap: {statistics.median(ratios):.2f} (per round: {' '.join(f'{x:.2f}' for x in ratios)})")
print("goal: <= 1.0 ->", "MET" if statistics.median(ratios) <= 1.0 else "NOT MET")
PY
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
