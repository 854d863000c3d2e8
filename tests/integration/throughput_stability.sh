#!/bin/bash
# Issue 12's throughput and stability scenarios on the process driver and on native, with small
# parameters: each yields its declared metrics (or SKIPs for a capability the driver lacks); the
# leak deltas on native are exactly zero; network traffic used only the addresses the driver made
# (10.213.0.0/16 veths for native, loopback for process) and each receiver saw its peer come from
# the other of the two; a transfer whose peer never reads is stopped at its deadline and reported;
# nothing the scenarios made is left behind.
. "$(dirname "$0")/lib.sh"
sb=$SANDBENCH
[ -n "${SANDBENCH_AGENT:-}" ] || skip "SANDBENCH_AGENT not set"
$sb list --json > "$TMP/list.json" || { fail "list --json"; finish; }

scenarios="throughput-disk-write throughput-disk-read throughput-disk-rand-read throughput-disk-rand-write
throughput-volume-write throughput-volumes-setup throughput-net-ingress throughput-net-egress
throughput-net-parallel throughput-net-connect-rate throughput-net-loopback latency-net-rtt
throughput-copy-in throughput-copy-out throughput-export throughput-import throughput-ports-setup
throughput-syscall throughput-fork-rate throughput-memory-bandwidth stability-churn stability-soak
stability-soak-load stability-exec-loop stability-exec-parallel stability-restart-loop
stability-snapshot-loop stability-oom-recovery"
params="--param size=4M --param ops=100 --param count=50 --param cycles=4 --param passes=1
--param concurrency=6 --param seconds=3 --param interval=1 --param settle=5 --param limit=16M --param touch=64M"

drivers="process"
if $sb drivers --json 2>/dev/null | /usr/bin/python3 -c 'import json,sys; sys.exit(0 if any(d["name"]=="native" and d["usable"] for d in json.load(sys.stdin)) else 1)'; then
	drivers="process native"
else
	echo "note: native is not usable here; only the process driver runs"
fi

for d in $drivers; do
	# shellcheck disable=SC2086
	$sb run $scenarios --driver "$d" --runs 2 --warmup 0 $params --out "$TMP/$d" > "$TMP/$d.txt" 2> "$TMP/$d.err" &&
		ok "$d: run exit 0" || { fail "$d: run: $(tail -3 "$TMP/$d.err")"; cat "$TMP/$d.txt"; }
	validate "$TMP/$d" && ok "$d: reports validate" || fail "$d: schema"
done

/usr/bin/python3 - "$TMP/list.json" "$TMP" $drivers <<'PY' && ok "declared metrics, skips, leaks, addresses, tags" || fail "declared metrics, skips, leaks, addresses, tags"
import ipaddress, json, pathlib, sys
listing = {s["name"]: s for s in json.load(open(sys.argv[1]))}
tmp, drivers = pathlib.Path(sys.argv[2]), sys.argv[3:]
# Metrics a scenario records only in some runs (a failure index only when an exec failed).
optional = {"exec_loop_first_failure_index"}
# What each driver may skip, and why.
skips = {
    "process": {"throughput-volume-write": "volumes", "throughput-volumes-setup": "volumes",
                "throughput-copy-in": "copy", "throughput-copy-out": "copy", "throughput-export": "isolation",
                "throughput-import": "isolation", "throughput-ports-setup": "ports",
                "stability-soak": "pids", "stability-soak-load": "pids", "stability-restart-loop": "restart",
                "stability-snapshot-loop": "snapshot", "stability-oom-recovery": "memlimit"},
    "native": {"throughput-ports-setup": "ports"},
}
bad = []
for d in drivers:
    reps = {}
    for f in (tmp / d).glob("*.json"):
        r = json.loads(f.read_text())
        reps[r["scenario"]["name"]] = r
    for name in listing:
        if name not in reps and (name.startswith("throughput-") or name.startswith("stability-") or name == "latency-net-rtt"):
            if name in ("throughput-stdout", "throughput-exec-rate"):
                continue
            bad.append(f"{d}: no report for {name}")
    for name, r in reps.items():
        if name in skips.get(d, {}):
            if r["status"] != "skip" or skips[d][name] not in r.get("reason", ""):
                bad.append(f"{d} {name}: expected a skip for {skips[d][name]}, got {r['status']} {r.get('reason')}")
            continue
        if r["status"] != "ok":
            bad.append(f"{d} {name}: {r['status']} {r.get('reason')}")
            continue
        got = {a["metric"]: a for a in r["aggregates"]}
        for m in listing[name]["metrics"]:
            if m["name"] not in got and m["name"] not in optional:
                bad.append(f"{d} {name}: declared metric {m['name']} missing")
        tags = r["tags"]
        if name.startswith("throughput-disk"):
            if tags.get("disk_fs", "unknown") in ("unknown", "") or not tags.get("disk_dir"):
                bad.append(f"{d} {name}: filesystem not tagged: {tags}")
            if d == "native" and tags.get("disk_fs") != "overlay":
                bad.append(f"{d} {name}: expected the overlay root, got {tags.get('disk_fs')}")
            # What lies under the overlay: the host's disk (layer=auto puts these on it).
            if d == "native" and tags.get("disk_fs_upper", "tmpfs") == "tmpfs":
                bad.append(f"{d} {name}: the writable layer is not on a disk: {tags.get('disk_fs_upper')}")
        if name == "throughput-volume-write" and not tags.get("volume_fs"):
            bad.append(f"{d} {name}: volume filesystem not tagged")
        if name in ("stability-churn", "stability-oom-recovery") and d == "native":
            for m, a in got.items():
                if m.startswith("leak_") and a["max"] != 0:
                    bad.append(f"{d} {name}: {m} = {a['max']} ({tags.get('leak_warning')})")
        if name == "stability-oom-recovery":
            if got["oom_killed"]["min"] != 1:
                bad.append(f"{d} {name}: the touch above the limit was not stopped")
        if name == "stability-restart-loop" and tags.get("restart_keeps_filesystem") != "yes":
            bad.append(f"{d} {name}: the filesystem did not survive the restarts")
        if name.startswith("throughput-net-") and name != "throughput-net-loopback" or name == "latency-net-rtt":
            host, box, peer = tags.get("net_host_ip"), tags.get("net_box_ip"), tags.get("net_peer_seen")
            if not host or not box:
                bad.append(f"{d} {name}: addresses not tagged"); continue
            if d == "native":
                net = ipaddress.ip_network("10.213.0.0/16")
                if ipaddress.ip_address(host) not in net or ipaddress.ip_address(box) not in net or host == box:
                    bad.append(f"{d} {name}: addresses outside the driver's veth range: {host} {box}")
            else:
                if host != "127.0.0.1" or box != "127.0.0.1":
                    bad.append(f"{d} {name}: process driver must use loopback: {host} {box}")
            want = box if name == "throughput-net-egress" else host
            if peer != want:
                bad.append(f"{d} {name}: the receiver saw its peer at {peer}, expected {want}")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY

# The host ends of the native veths are gone with their boxes.
if [ -d "$TMP/native" ]; then
	left=$(/usr/bin/python3 -c 'import json,pathlib,sys; print(" ".join(sorted({json.loads(f.read_text())["tags"].get("net_host_ip","") for f in pathlib.Path(sys.argv[1]).glob("*.json")} - {""})))' "$TMP/native")
	still=""
	for a in $left; do ip -o -4 addr show | grep -q " $a/" && still="$still $a"; done
	[ -z "$still" ] && ok "native veths removed ($left)" || fail "host addresses still configured:$still"
fi

# A peer that accepts and never reads: the transfer is stopped at its deadline, reported, and the
# run goes on (both directions).
net_driver=process
[ -d "$TMP/native" ] && net_driver=native
t0=$(date +%s)
$sb run throughput-net-ingress throughput-net-egress --driver $net_driver --runs 1 --warmup 0 \
	--param fault=mute --param transfer_timeout=2 --param size=256M --out "$TMP/mute" > /dev/null 2> "$TMP/mute.err"
rc=$?
took=$(( $(date +%s) - t0 ))
[ $rc -eq 1 ] && ok "stuck transfers: run exits 1" || fail "stuck transfers: run exit $rc"
[ "$took" -lt 40 ] && ok "stuck transfers stopped in ${took}s" || fail "stuck transfers took ${took}s"
validate "$TMP/mute" || fail "mute: schema"
/usr/bin/python3 - "$TMP/mute" <<'PY' && ok "stuck transfers reported with the deadline" || fail "stuck transfers not reported"
import json, pathlib, sys
reps = [json.loads(f.read_text()) for f in pathlib.Path(sys.argv[1]).glob("*.json")]
assert len(reps) == 2, len(reps)
for r in reps:
    reason = r.get("reason", "")
    assert r["status"] == "error" and "deadline" in reason and "killed after" in reason, (r["scenario"]["name"], reason)
    print(r["scenario"]["name"], "->", reason)
PY
gone "tcp-sink.*--mute" 5 && ok "no mute peer left running" || fail "a mute peer is still running"
finish
