#!/bin/bash
# Benchmark (not a test): sandbench's disk and network figures beside the standard tools doing the
# same pattern on the same path, rounds alternating which goes first; prints medians and the ratio
# sandbench/tool (about 1.0 expected; docs/benchmarks.md explains the ones that are not).
#   process (the host): sequential write, sequential read and 4 KiB random reads in one ext4
#     directory, beside fio (psync, O_DIRECT, the same sizes, fsync at the end of the write);
#     ingress over loopback beside iperf3 (one stream, the same bytes, the receiver's figure).
#   native: the sequential write into a host directory mounted in the sandbox
#     (throughput-volume-write) beside fio on that directory; ingress over native's veth beside
#     iperf3 into a network namespace this script makes with its own veth pair (10.219.250.0/30),
#     deleted on exit.
# Run under the bench lock: flock /tmp/sandbench-bench.lock bash bench/throughput_crosscheck.sh
# Usage: bench/throughput_crosscheck.sh [BUILD_DIR] [ROUNDS]   (as root)
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-3}
sb=$(readlink -f "$build/src/cli/sandbench")
export SANDBENCH_AGENT=$(readlink -f "$build/src/agent/sandbench-agent")
[ -x "$sb" ] || { echo "build first: meson setup $build && ninja -C $build" >&2; exit 1; }
for t in fio iperf3 ip; do
	command -v $t > /dev/null || { echo "$t is missing (bash scripts/deps.sh test)" >&2; exit 1; }
done
tmp=$(mktemp -d)
dir=$(mktemp -d /var/tmp/sb-xcheck-XXXXXX)
ns=sbx$$
cleanup() {
	[ -n "${srv:-}" ] && kill "$srv" 2> /dev/null
	ip netns del "$ns" 2> /dev/null || true
	ip link del "sbx$$h" 2> /dev/null || true
	rm -rf "$tmp" "$dir"
}
trap cleanup EXIT
size=256M
rsize=64M
ops=4000
net_bytes=1G

# sandbench SCENARIO DRIVER METRIC [PARAM...]: p50 of 3 iterations.
sbr() {
	local scn=$1 drv=$2 metric=$3 out
	shift 3
	out="$tmp/sb-$scn-$drv-$RANDOM"
	"$sb" run "$scn" --driver "$drv" --runs 3 --warmup 1 --out "$out" "$@" > /dev/null 2>&1 || {
		echo "sandbench $scn on $drv failed" >&2; echo nan; return; }
	/usr/bin/python3 -c 'import json,glob,sys; r=json.load(open(glob.glob(sys.argv[1]+"/*.json")[0])); print([a["p50"] for a in r["aggregates"] if a["metric"]==sys.argv[2]][0])' "$out" "$metric"
}
# fio JOB-ARGS...: MiB/s (bw) or IOPS of the one job, per $fio_want.
fior() {
	fio --output-format=json --ioengine=psync --direct=1 --group_reporting "$@" > "$tmp/fio.json" 2> /dev/null
	/usr/bin/python3 -c '
import json,sys
j = json.load(open(sys.argv[1]))["jobs"][0]
side = "write" if j["write"]["io_bytes"] > 0 else "read"
print(j[side]["iops"] if sys.argv[2] == "iops" else j[side]["bw_bytes"] / 1048576)' "$tmp/fio.json" "$fio_want"
}
# iperf3 to ADDR (a server started in CMD-PREFIX), one stream of $net_bytes: receiver MiB/s.
iperf() {
	local addr=$1
	shift
	"$@" iperf3 -s -1 -B "$addr" > /dev/null 2>&1 &
	srv=$!
	sleep 0.3
	# -l 256K: the block size the agent's tcp-source writes (iperf3's default is 128K).
	iperf3 -c "$addr" -n "$net_bytes" -l 256K -J > "$tmp/iperf.json" 2> /dev/null || true
	wait "$srv" 2> /dev/null || true
	srv=
	/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 8 / 1048576)' "$tmp/iperf.json"
}

# A veth pair into a namespace of ours, like native's (host end .1, namespace end .2, a /30).
ip netns add "$ns"
ip link add "sbx$$h" type veth peer name eth0 netns "$ns"
ip addr add 10.219.250.1/30 dev "sbx$$h"
ip link set "sbx$$h" up
ip -n "$ns" addr add 10.219.250.2/30 dev eth0
ip -n "$ns" link set eth0 up
ip -n "$ns" link set lo up

declare -A A B
add() { A[$1]="${A[$1]:-} $2"; B[$1]="${B[$1]:-} $3"; }
for r in $(seq "$rounds"); do
	# Alternate which side goes first.
	for side in $( [ $((r % 2)) -eq 1 ] && echo "sb tool" || echo "tool sb" ); do
		if [ "$side" = sb ]; then
			s1=$(sbr throughput-disk-write process disk_write_mib_per_s --param dir="$dir" --param size=$size)
			s2=$(sbr throughput-disk-read process disk_read_mib_per_s --param dir="$dir" --param size=$size)
			s3=$(sbr throughput-disk-rand-read process disk_rand_read_iops --param dir="$dir" --param size=$rsize --param ops=$ops)
			s4=$(sbr throughput-net-ingress process net_ingress_mib_per_s --param size=$net_bytes)
			s5=$(sbr throughput-volume-write native volume_write_mib_per_s --param host_dir="$dir" --param size=$size)
			s6=$(sbr throughput-net-ingress native net_ingress_mib_per_s --param size=$net_bytes)
		else
			fio_want=bw t1=$(fior --name=w --filename="$dir/fio-seq" --rw=write --bs=1M --size=$size --end_fsync=1)
			fio_want=bw t2=$(fior --name=r --filename="$dir/fio-seq" --rw=read --bs=1M --size=$size)
			fio_want=iops t3=$(fior --name=rr --filename="$dir/fio-rand" --rw=randread --bs=4k --size=$rsize --number_ios=$ops)
			t4=$(iperf 127.0.0.1)
			fio_want=bw t5=$(fior --name=w --filename="$dir/fio-vol" --rw=write --bs=1M --size=$size --end_fsync=1)
			t6=$(iperf 10.219.250.2 ip netns exec "$ns")
			rm -f "$dir"/fio-*
		fi
	done
	add "process disk seq write (MiB/s)" "$s1" "$t1"
	add "process disk seq read (MiB/s)" "$s2" "$t2"
	add "process disk 4k rand read (IOPS)" "$s3" "$t3"
	add "process net ingress, loopback (MiB/s)" "$s4" "$t4"
	add "native volume seq write (MiB/s)" "$s5" "$t5"
	add "native net ingress, veth (MiB/s)" "$s6" "$t6"
done
for k in "process disk seq write (MiB/s)" "process disk seq read (MiB/s)" "process disk 4k rand read (IOPS)" \
	"process net ingress, loopback (MiB/s)" "native volume seq write (MiB/s)" "native net ingress, veth (MiB/s)"; do
	echo "$k|${A[$k]}|${B[$k]}"
done > "$tmp/results"
sed 's/^/raw: /' "$tmp/results"
/usr/bin/python3 - "$tmp/results" <<'PY'
import math, statistics, sys
print("%-40s %12s %12s %7s   per round" % ("figure", "sandbench", "tool", "ratio"))
for line in open(sys.argv[1]):
    k, a, b = line.rstrip("\n").split("|")
    a = [float(x) for x in a.split()]
    b = [float(x) for x in b.split()]
    ratios = [x / y for x, y in zip(a, b) if y > 0 and not math.isnan(x)]
    med = statistics.median(ratios) if ratios else float("nan")
    print("%-40s %12.1f %12.1f %7.2f   %s" % (k, statistics.median(a), statistics.median(b), med,
                                             " ".join("%.2f" % r for r in ratios)))
PY
echo "tools: $(fio --version), $(iperf3 --version | head -1 | cut -d" " -f1-2); sizes: seq $size, rand $rsize x $ops ops, net $net_bytes"
