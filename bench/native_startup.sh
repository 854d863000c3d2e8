#!/bin/bash
# Benchmark (not a test): how fast the native driver starts a sandbox, next to the floor (a bare
# spawn) and two namespace tools on the same rootfs, all measured in one run in interleaved
# rounds so that a noisy machine hits every variant alike. Each variant does create -> run the
# agent's `true` -> destroy:
#   bare    sandbench run latency-spawn --driver process            (metric lifecycle_ms)
#   unshare unshare -mpiun --fork chroot ROOTFS /sandbench-agent true   (timed by sbn-bench spawn)
#   bwrap   bwrap --unshare-all --ro-bind ROOTFS / --proc /proc --dev /dev /sandbench-agent true
#   cold    sandbench run latency-spawn --driver native             (lifecycle_ms, and its phases)
#   warm    sandbench run latency-spawn --driver native --param warm=1
# plus exec in a running box: sbn-bench's exec of the same static binary (the agent's `true`) in
# a running native box and bare on the host, interleaved; and, for reference, the
# latency-exec-output scenario on both drivers (`echo`: busybox in the box, coreutils on the host,
# so not the same binary). Medians pool every non-warmup sample of every round (nearest rank).
# Prints the medians, the ratios against the goals of issue 4 and MET / NOT MET, then the machine.
# Needs root (native, unshare, bwrap), python3, bwrap and util-linux's unshare.
# Usage: [WARMUP=N] bench/native_startup.sh [BUILD_DIR] [RUNS_PER_ROUND] [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
runs=${2:-30}
rounds=${3:-10}
sb=$build/src/cli/sandbench
helper=$build/tests/native/sbn-bench
agent=$build/src/agent/sandbench-agent
for f in "$sb" "$helper" "$agent"; do
	[ -x "$f" ] || { echo "missing $f: meson setup $build && ninja -C $build" >&2; exit 1; }
done
for t in bwrap unshare chroot python3; do
	command -v "$t" >/dev/null || { echo "needs $t" >&2; exit 1; }
done
rootfs=$("$sb" image build | tail -n 1)
[ -x "$rootfs/sandbench-agent" ] || { echo "no rootfs from '$sb image build'" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
# Unmeasured iterations at the start of every round, for every variant alike: a warm round's
# zygote makes its first boxes then (a warm start is the steady state after them).
warmup=${WARMUP:-10}

run_variant() { # name round
	local n=$1 r=$2
	case $n in
	bare) "$sb" run latency-spawn --driver process --runs "$runs" --warmup "$warmup" --out "$tmp/bare-$r.json" >/dev/null ;;
	cold) "$sb" run latency-spawn --driver native --runs "$runs" --warmup "$warmup" --out "$tmp/cold-$r.json" >/dev/null ;;
	warm) "$sb" run latency-spawn --driver native --param warm=1 --runs "$runs" --warmup "$warmup" \
		--out "$tmp/warm-$r.json" >/dev/null ;;
	unshare) "$helper" spawn $((runs + warmup)) unshare -mpiun --fork chroot "$rootfs" /sandbench-agent true \
		| tail -n +$((warmup + 1)) >"$tmp/unshare-$r.txt" ;;
	bwrap) "$helper" spawn $((runs + warmup)) bwrap --unshare-all --ro-bind "$rootfs" / --proc /proc --dev /dev \
		/sandbench-agent true | tail -n +$((warmup + 1)) >"$tmp/bwrap-$r.txt" ;;
	exec) "$helper" "$rootfs" "$agent" "$runs" exec raw >"$tmp/exec-$r.txt" ;;
	eo-native) "$sb" run latency-exec-output --driver native --runs "$runs" --warmup "$warmup" \
		--out "$tmp/eonative-$r.json" >/dev/null ;;
	eo-process) "$sb" run latency-exec-output --driver process --runs "$runs" --warmup "$warmup" \
		--out "$tmp/eoprocess-$r.json" >/dev/null ;;
	esac
}

variants=(bare unshare bwrap cold warm exec eo-native eo-process)
nv=${#variants[@]}
for r in $(seq "$rounds"); do
	# Rotate the order each round: no variant always follows the same one.
	for k in $(seq 0 $((nv - 1))); do
		run_variant "${variants[$(((k + r) % nv))]}" "$r"
	done
	printf '.' >&2
done
printf '\n' >&2
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$tmp" "$rounds" "$runs" "$load_start" "$load_end" <<'PY'
import glob, json, math, os, platform, subprocess, sys, time

tmp, rounds, runs, load_start, load_end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]

def p50(xs):
    xs = sorted(xs)
    return xs[max(0, math.ceil(len(xs) * 0.5) - 1)] if xs else float("nan")

def report_samples(prefix, metric):
    out = []
    for f in sorted(glob.glob(os.path.join(tmp, prefix + "-*.json"))):
        for s in json.load(open(f))["samples"]:
            if not s.get("warmup") and metric in s["metrics"]:
                out.append(s["metrics"][metric])
    return out

def text_samples(prefix, name=None):
    out = []
    for f in sorted(glob.glob(os.path.join(tmp, prefix + "-*.txt"))):
        for line in open(f):
            parts = line.split()
            if not parts:
                continue
            if name is None:
                out.append(float(parts[0]))
            elif parts[0] == name:
                out.append(float(parts[1]))
    return out

m = {
    "bare": report_samples("bare", "lifecycle_ms"),
    "unshare": text_samples("unshare"),
    "bwrap": text_samples("bwrap"),
    "cold": report_samples("cold", "lifecycle_ms"),
    "warm": report_samples("warm", "lifecycle_ms"),
    "exec_box": text_samples("exec", "exec_box"),
    "exec_bare": text_samples("exec", "exec_bare"),
    "eo_native": report_samples("eonative", "exec_ms"),
    "eo_process": report_samples("eoprocess", "exec_ms"),
}
phases = {k: {ph: p50(report_samples(k, ph + "_ms")) for ph in ("create", "exec", "destroy")} for k in ("cold", "warm")}
med = {k: p50(v) for k, v in m.items()}

print(f"native driver startup: create -> `true` -> destroy, p50 in ms ({rounds} interleaved rounds x {runs} runs,"
      f" after {os.environ.get('WARMUP', '10')} unmeasured ones each)")
rows = [
    ("bare spawn (process driver)", "bare", ""),
    ("unshare -mpiun --fork chroot", "unshare", ""),
    ("bwrap --unshare-all", "bwrap", ""),
    ("native cold", "cold", "create %.3f  exec %.3f  destroy %.3f" % tuple(phases["cold"].values())),
    ("native warm (warm=1)", "warm", "create %.3f  exec %.3f  destroy %.3f" % tuple(phases["warm"].values())),
    ("exec in a running native box", "exec_box", "sbn-bench: /sandbench-agent true"),
    ("bare exec of the same binary", "exec_bare", "sbn-bench: posix_spawn + wait"),
    ("latency-exec-output, native", "eo_native", "echo: busybox (static)"),
    ("latency-exec-output, process", "eo_process", "echo: coreutils (dynamic)"),
]
for label, k, note in rows:
    print(f"  {label:<32} {med[k]:8.3f}  (n={len(m[k])})  {note}")

goals = [
    ("native cold / bwrap", med["cold"] / med["bwrap"], 0.6),
    ("native cold / bare spawn", med["cold"] / med["bare"], 4.0),
    ("native warm / bare spawn", med["warm"] / med["bare"], 1.5),
    ("native exec / bare exec (same binary)", med["exec_box"] / med["exec_bare"], 1.0),
]
print("goals (issue 4)")
for label, ratio, goal in goals:
    print(f"  {label:<40} {ratio:6.2f}  <= {goal:<4}  {'MET' if ratio <= goal else 'NOT MET'}")
print("  for reference: latency-exec-output native / process  %.2f" % (med["eo_native"] / med["eo_process"]))

cpu = "?"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
print("machine: nproc %d, %s, kernel %s, loadavg %s at start, %s at end, %s" % (
    os.cpu_count(), cpu, platform.release(), load_start, load_end, time.strftime("%Y-%m-%d %H:%M %Z")))
PY
