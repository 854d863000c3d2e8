#!/bin/bash
# The network scenarios on one driver that makes a host<->sandbox network (net.sh DRIVER), with
# small parameters: each report is ok; the two addresses box_addr gave are the driver's own (the
# OCI runtimes 10.214/16, nspawn 10.215/16, lxc 10.216/16, each a /30 with host .1 and box .2; the
# engines the container's address on their bridge and that bridge's address on the host) and each
# receiver saw its peer come from the other one; afterwards no host end of a veth, no pinned
# network namespace and no box of the run is left. Then a run killed with SIGKILL mid-run: `doctor`
# lists what it left, `doctor --clean` removes it, veths and namespaces included.
# Exit 77 (SKIP) with the probe's reason when the runtime cannot run here.
. "$SRCDIR/tests/integration/lib.sh"
drv=${1:?usage: net.sh DRIVER}
sb=$SANDBENCH
[ -n "${SANDBENCH_AGENT:-}" ] || skip "SANDBENCH_AGENT not set"
[ "$(id -u)" -eq 0 ] || skip "$drv needs root"
. "$SRCDIR/tests/conformance/hostfix.sh"
trap 'restore_hosts; rm -rf "$TMP"' EXIT
hostfix_prepare "$drv"
err=$($sb exec --driver "$drv" -- true 2>&1 >/dev/null) || skip "$drv: ${err#sandbench: error: }"

case $drv in
crun | runc | runsc) prefix=sbo range=10.214.0.0/16 ;;
nspawn) prefix=sbs range=10.215.0.0/16 ;;
lxc) prefix=sbl range=10.216.0.0/16 ;;
podman | podman-runc | docker) prefix= range=bridge ;;
*) fail "net.sh knows no address range for $drv"; finish ;;
esac

docker_cli=${SANDBENCH_DOCKER:-$(command -v docker)}
rid=none veths=
# What a run (its boxes are sb-<rid>-N) left: the host ends of its veths (learned from the boxes'
# net.addr while it ran), its pinned namespaces and state, its containers.
learn_veths() {
	local v
	for v in $(sed -n 's/^veth=//p' /run/sandbench/*/sb-"$rid"-*/net.addr 2>/dev/null); do
		case " $veths " in *" $v "*) ;; *) veths="$veths $v" ;; esac
	done
}
leftovers() {
	local v
	{
		for v in $veths; do ip link show "$v" > /dev/null 2>&1 && echo "veth $v"; done
		awk -v r="sb-$rid-" '$5 ~ "^/run/sandbench/" && index($5, r) {print "mount " $5}' /proc/self/mountinfo
		find /run/sandbench -mindepth 2 -maxdepth 2 -name "sb-$rid-*" 2>/dev/null | sed 's/^/state /'
		case $drv in
		podman | podman-runc) podman ps -a --format '{{.Names}}' | grep -- "^sb-$rid-" | sed 's/^/container /' ;;
		docker) $docker_cli ps -a --format '{{.Names}}' | grep -- "^sb-$rid-" | sed 's/^/container /' ;;
		esac
	} | sort -u
}
settle() { # until nothing of the run is left (5 s: a namespace the kernel frees takes its pair with it)
	for _ in $(seq 50); do
		left=$(leftovers)
		[ -z "$left" ] && return
		sleep 0.1
	done
}

scenarios="throughput-net-ingress throughput-net-egress throughput-net-parallel throughput-net-connect-rate latency-net-rtt"
id=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
rid=${id:0:8}
# shellcheck disable=SC2086
SANDBENCH_RUN_ID=$id $sb run $scenarios --driver "$drv" --runs 2 --warmup 0 --param size=4M --param count=50 \
	--out "$TMP/net" > "$TMP/net.txt" 2> "$TMP/net.err" && ok "$drv: network scenarios exit 0" ||
	fail "$drv: run: $(tail -c 600 "$TMP/net.err") $(grep -h '"reason"' "$TMP"/net/*.json 2>/dev/null | head -c 600)"
validate "$TMP/net" > /dev/null && ok "$drv: reports validate" || fail "$drv: reports invalid"
/usr/bin/python3 - "$TMP/net" "$range" "$(ip -o -4 addr show)" $scenarios <<'PY' && ok "$drv: addresses are the driver's own, peers seen from the other end" || fail "$drv: addresses"
import ipaddress, json, pathlib, sys
dir, rng, host_addrs, names = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
reps = {}
for f in dir.glob("*.json"):
    r = json.loads(f.read_text())
    reps[r["scenario"]["name"]] = r
bad = []
# host interfaces: address/prefix as the host has them ("inet 10.88.0.1/16")
ifaces = [ipaddress.ip_interface(w[i + 1]) for w in (l.split() for l in host_addrs.splitlines())
          for i in range(len(w) - 1) if w[i] == "inet"]
for n in names:
    r = reps.get(n)
    if not r:
        bad.append(f"no report for {n}"); continue
    if r["status"] != "ok":
        bad.append(f"{n}: {r['status']} {r.get('reason')}"); continue
    t = r["tags"]
    host, box, peer = t.get("net_host_ip"), t.get("net_box_ip"), t.get("net_peer_seen")
    if not host or not box or host == box:
        bad.append(f"{n}: addresses {host} {box}"); continue
    h, b = ipaddress.ip_address(host), ipaddress.ip_address(box)
    if rng == "bridge":
        # the host end is an address of a host interface, the box in that interface's network
        on = [i for i in ifaces if i.ip == h]
        if not on or b not in on[0].network or b == on[0].network.broadcast_address:
            bad.append(f"{n}: {host} is not a host bridge address with {box} on it ({[str(i) for i in ifaces]})")
    else:
        net = ipaddress.ip_network(rng)
        if h not in net or b not in net or int(h) % 4 != 1 or int(b) != int(h) + 1:
            bad.append(f"{n}: {host} {box} are not a /30 of the driver's range {rng}")
    want = box if n == "throughput-net-egress" else host
    if peer != want:
        bad.append(f"{n}: the receiver saw its peer at {peer}, expected {want}")
    print(f"  {n}: host {host}, box {box}")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY

# Nothing of the run is left: the host addresses the driver made are gone (the engines' bridge
# stays: it is the engine's), and so are namespaces, state and containers.
hosts=$(/usr/bin/python3 -c 'import json,pathlib,sys; print(" ".join(sorted({json.loads(f.read_text())["tags"].get("net_host_ip","") for f in pathlib.Path(sys.argv[1]).glob("*.json")} - {""})))' "$TMP/net")
still=
if [ -n "$prefix" ]; then
	for _ in $(seq 50); do
		still=
		for a in $hosts; do ip -o -4 addr show | grep -q " $a/" && still="$still $a"; done
		[ -z "$still" ] && break
		sleep 0.1
	done
fi
settle
[ -z "$still$left" ] && ok "$drv: no veth, namespace, state or container left (host ends were:$([ -n "$prefix" ] && echo " $hosts"))" ||
	fail "$drv: left behind:$still $(echo $left)"

# SIGKILL while a box with a link is alive: doctor lists the run, --clean removes all of it.
id=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
rid=${id:0:8} veths=
SANDBENCH_RUN_ID=$id $sb run latency-net-rtt --driver "$drv" --runs 100000 --warmup 0 --out "$TMP/killed" \
	> /dev/null 2> "$TMP/killed.err" &
pid=$!
seen=
for _ in $(seq 300); do
	learn_veths
	if [ -n "$prefix" ]; then [ -n "${veths// /}" ] && seen=1; else [ -n "$(leftovers | grep '^container')" ] && seen=1; fi
	[ -n "$seen" ] && break
	sleep 0.1
done
sleep 1
learn_veths
kill -0 $pid 2> /dev/null || fail "$drv: the run to kill ended first: $(tail -c 400 "$TMP/killed.err")"
kill -KILL $pid
wait $pid 2> /dev/null
[ -n "$seen" ] && ok "$drv: the killed run had made its link${veths:+ (}$(echo $veths)${veths:+)}" ||
	fail "$drv: no link of the killed run seen"
sleep 0.3
left=$(leftovers)
$sb doctor --drivers "$drv" > "$TMP/doctor.out" 2>&1
if [ -n "$left" ]; then
	grep -q -- "sb-$rid-" "$TMP/doctor.out" && ok "$drv: doctor lists the killed run's boxes" ||
		fail "$drv: doctor does not list $(echo $left): $(cat "$TMP/doctor.out")"
fi
$sb doctor --clean --drivers "$drv" > "$TMP/clean.out" 2>&1 || fail "$drv: doctor --clean: $(cat "$TMP/clean.out")"
settle
[ -z "$left" ] && ok "$drv: nothing left after SIGKILL + doctor --clean" || fail "$drv: after --clean: $(echo $left)"
finish
