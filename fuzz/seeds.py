#!/usr/bin/python3
"""Writes the seed corpora under fuzz/corpus/ (run once; the output is committed). Usage:
fuzz/seeds.py [REPORT.json REPORT2.json COMPARE.json PAIRED.json]
with documents written by sandbench itself (see docs/fuzzing.md). Without them it writes only the
seeds of the targets that take their documents from the corpora already committed (registry,
store-import, slo, baseline, qemu-conf, render)."""
import json, os, struct, sys

here = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def compact(doc):
    return json.dumps(doc, separators=(",", ":"))


def corpus_doc(target, name):
    with open(os.path.join(here, "corpus", target, name)) as f:
        return json.load(f)


def later_targets():
    """The targets added after the first seven: their documents come from the committed corpora."""
    report = corpus_doc("compare-input", "report.json")
    paired = corpus_doc("compare-input", "paired.json")
    cmp = corpus_doc("compare-input", "compare.json")
    registry_seeds()
    store_seeds(report, paired, cmp)
    slo_seeds()
    baseline_seeds(report)
    qemu_conf_seeds()
    render_seeds(report, paired, cmp)


# ---- registry: one flags byte (fuzz_registry.c), then the file (layout in src/metrics/registry.h)
OWN_CLAIMS, OWN_RECORDS, FIX_HEADER, WRITER = 1, 2, 4, 8
SLOT = 640


def reg_header(nslots, version=1, slot_size=SLOT, pidns=0, magic=b"SBMETREG"):
    return magic + struct.pack("<IIIIQq", version, 64, slot_size, nslots, pidns, 1767225600000000000) + bytes(24)


def reg_record(pid=0, ident=b"", name=b"", driver=b"", gen=1, t_ns=0, count=0, cpu=float("nan"), mem=0,
               limit=0, error=0, pids=0):
    rec = struct.pack("<QiIQq", gen, pid, 0, 1 if pid else 0, 1767225600000000000 if pid else 0)
    rec += ident.ljust(48, b"\0")[:48] + name.ljust(64, b"\0")[:64] + driver.ljust(24, b"\0")[:24]
    rec += struct.pack("<qQdQQQQQQQQQiI", t_ns, count, cpu, 2_500_000_000, mem, limit, 3 << 20, 4096, 8192,
                       100, 200, pids, error, 0)
    assert len(rec) == 272
    return rec


def reg_slot(claim=0, seq=2, copy0=None, copy1=None):
    copy0 = copy0 if copy0 is not None else reg_record()
    copy1 = copy1 if copy1 is not None else copy0
    return (struct.pack("<QQ", claim, seq) + copy0 + copy1).ljust(SLOT, b"\0")


def registry_seeds():
    live = reg_record(1, b"box-1", b"latency-spawn", b"native", t_ns=1767225600000000000, count=3, cpu=12.5,
                      mem=64 << 20, limit=128 << 20, pids=2)
    stats_failed = reg_record(1, b"box-2", b"density", b"podman", t_ns=1767225601000000000, count=1,
                              error=5)
    fresh = reg_record(1, b"box-3", b"soak", b"crun")
    own = OWN_CLAIMS | OWN_RECORDS
    put("registry", "empty", bytes([0]) + reg_header(4) + reg_slot() * 4)
    put("registry", "live", bytes([own]) + reg_header(3) + reg_slot(1, 2, live) + reg_slot(1, 4, stats_failed) +
        reg_slot(1, 6, fresh))
    put("registry", "free-and-live", bytes([own]) + reg_header(4) + reg_slot() + reg_slot(1, 2, live) + reg_slot() +
        reg_slot(0, 2, live))
    put("registry", "writer", bytes([own | WRITER]) + reg_header(3) + reg_slot(1, 2, live) + reg_slot() +
        reg_slot(7, 3, stats_failed))
    put("registry", "writer-full", bytes([own | WRITER]) + reg_header(2) + reg_slot(1, 2, live) + reg_slot(1, 2, live))
    # A writer died while writing copy 0: the counter is odd, copy 1 is whole.
    put("registry", "torn", bytes([own]) + reg_header(2) + reg_slot(1, 5, bytes(272), live) + reg_slot())
    put("registry", "unpublished", bytes([OWN_CLAIMS]) + reg_header(2) + reg_slot(1, 2, live) + reg_slot())
    put("registry", "fix-header", bytes([own | FIX_HEADER]) + bytes(64) + reg_slot(1, 2, live) + reg_slot())
    put("registry", "bad-magic", bytes([0]) + reg_header(1, magic=b"SBMETREX") + reg_slot())
    put("registry", "bad-version", bytes([0]) + reg_header(1, version=2) + reg_slot())
    put("registry", "bad-slot-size", bytes([0]) + reg_header(1, slot_size=512) + reg_slot())
    put("registry", "short", bytes([0]) + reg_header(3) + reg_slot())
    put("registry", "other-pidns", bytes([own]) + reg_header(1, pidns=4026531836) + reg_slot(1, 2, live))
    put("registry", "truncated-header", bytes([0]) + reg_header(1)[:40])
    # Found by reading: names that fill their fields without a terminator, and a sample time that
    # makes `top`'s age overflow a 64-bit subtraction (fuzz/crashes/registry/).
    crash("registry", "unterminated-names", bytes([own]) + reg_header(1) +
          reg_slot(1, 2, reg_record(1, b"i" * 48, b"n" * 64, b"d" * 24, t_ns=1, count=1, cpu=1e300, mem=1)))
    crash("registry", "sample-time-overflow", bytes([own]) + reg_header(1) +
          reg_slot(1, 2, reg_record(1, b"box", b"x", b"native", t_ns=-(1 << 63), count=1)))


def crash(target, name, data):
    d = os.path.join(here, "crashes", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


# ---- store-import: one file beside a.json and b.json (two valid reports, fuzz_store_import.c)
def store_seeds(report, paired, cmp):
    put("store-import", "report.json", compact(report))
    put("store-import", "paired.json", compact(paired))
    put("store-import", "compare.json", compact(cmp))
    m = {"schema": "sandbench.matrix/v1", "tool": report["tool"], "run": report["run"],
         "reports": [{"scenario": "latency-spawn", "driver": "process", "status": "ok", "path": "a.json"},
                     "b.json", {"path": "missing.json"}, None]}
    put("store-import", "matrix.json", compact(m))
    put("store-import", "matrix-ok.json", compact(dict(m, reports=["a.json", "b.json"])))
    put("store-import", "report-v2.json", compact(dict(report, schema="sandbench.report/v2")))
    put("store-import", "budgets.json", open(os.path.join(here, "..", "docs", "examples", "budgets-ci.json")).read())
    put("store-import", "not-sandbench.json", '{"schema":"other/v1","x":[1,2]}')
    put("store-import", "malformed.json", compact(report)[:200])
    odd = json.loads(compact(report))
    odd["run"]["started_at"] = "2026-13-45T99:99:99.5+25:61"
    odd["samples"][0]["metrics"] = {"lifecycle_ms": 1e308, "x": None, "y": "s"}
    odd["samples"][1]["extra"] = {"nested": [1, {"a": None}]}
    odd["aggregates"][0]["p50"] = -0.0
    put("store-import", "odd-values.json", compact(odd))
    no_host = json.loads(compact(report))
    del no_host["run"]["host"]
    put("store-import", "no-host.json", compact(no_host))


# ---- slo: an SLO file checked against fixed reports (fuzz_slo.c)
def slo_seeds():
    put("slo", "typical.json", compact({"schema": "sandbench.slo/v1", "description": "CI", "slos": [
        {"scenario": "latency-spawn", "driver": "native", "metric": "lifecycle_ms", "statistic": "p50", "max": 3},
        {"scenario": "latency-*", "driver": "*", "metric": "*_ms", "statistic": "p99", "max": 0.5, "unit": "ms"},
        {"scenario": "latency-exec", "metric": "rate_ops_s", "statistic": "mean", "min": 50, "label": "exec rate"}]}))
    put("slo", "not-measured.json", compact({"schema": "sandbench.slo/v1", "slos": [
        {"scenario": "latency-exec", "driver": "crun", "metric": "exec_ms", "statistic": "max", "max": 1},
        {"scenario": "nope", "metric": "x", "statistic": "min", "min": 0}]}))
    put("slo", "unit-mismatch.json", compact({"schema": "sandbench.slo/v1", "slos": [
        {"scenario": "latency-spawn", "metric": "lifecycle_ms", "statistic": "p90", "max": 1, "unit": "s"}]}))
    put("slo", "errors.json", compact({"schema": "sandbench.slo/v1", "slos": [
        {"scenario": "s", "metric": "m", "statistic": "p42", "max": 1, "min": 2, "extra": 1}]}))
    put("slo", "empty.json", '{"slos":[]}')
    # Found by reading: a label cut to its buffer inside a character made json_pack refuse the
    # result, and the SLO vanished from the check.
    crash("slo", "label-cut-mid-character", compact({"schema": "sandbench.slo/v1", "slos": [
        {"scenario": "latency-spawn", "metric": "exec_ms", "statistic": "p50", "max": 3},
        {"scenario": "latency-spawn", "metric": "lifecycle_ms", "statistic": "p50", "max": 3,
         "label": "\u00e9" * 200}]}))
    put("slo", "long-label.json", compact({"schema": "sandbench.slo/v1", "slos": [
        {"scenario": "latency-spawn", "metric": "lifecycle_ms", "statistic": "p50", "max": 3,
         "label": "é" * 200}]}))


# ---- baseline: a report saved as a baseline and loaded back (fuzz_baseline.c)
def baseline_seeds(report):
    put("baseline", "report.json", compact(report))
    short_id = json.loads(compact(report))
    short_id["run"]["id"] = "b"
    put("baseline", "short-run-id.json", compact(short_id))
    odd = json.loads(compact(report))
    odd["run"]["host"]["cpu_model"] = "Intel(R) Xeon(R) CPU @ 2.20GHz / é"
    odd["driver"]["version"] = "1.2.3 (git abc/def)"
    odd["run"]["id"] = "12345678-aaaa"
    put("baseline", "odd-names.json", compact(odd))
    put("baseline", "skip.json", compact(dict(report, status="skip", reason="unsupported", samples=[], aggregates=[])))
    # Found by reading: the scenario and run id went into the file name as they were.
    climb = json.loads(compact(report))
    climb["scenario"]["name"] = "../../../escaped"
    climb["run"]["id"] = "12345678"
    crash("baseline", "scenario-climbs-out", compact(climb))
    crash("baseline", "short-run-id-not-found", compact(short_id))


# ---- qemu-conf: a snapshot's vm.conf (fuzz_qemu_conf.c)
def qemu_conf_seeds():
    base = ("bin=/usr/bin/qemu-system-x86_64\naccel=kvm\ntb_size_mb=0\nhugepages=0\nacpi=0\n"
            "kernel=/var/cache/sandbench/kernel/vmlinux\nkernel_kind=minimal\n"
            "initrd=/var/cache/sandbench/initramfs.cpio\nappend=console=ttyS0 quiet io_delay=none\n"
            "mem_mb=128\nports=8\nports_live=2\ndisk_bytes=0\ndisk_template=\nnet=0\nfwd=\n")
    put("qemu-conf", "typical.conf", base)
    put("qemu-conf", "net-disk.conf", base.replace("net=0", "net=1").replace("fwd=", "fwd=8080:80,9000:9000,x:1,")
        .replace("disk_bytes=0", "disk_bytes=1073741824").replace("accel=kvm", "accel=tcg")
        .replace("tb_size_mb=0", "tb_size_mb=16").replace("acpi=0", "acpi=1"))
    put("qemu-conf", "missing.conf", "bin=qemu\naccel=kvm\nmem_mb=128\n")
    put("qemu-conf", "extremes.conf", base.replace("mem_mb=128", "mem_mb=-1").replace("ports=8", "ports=30")
        .replace("ports_live=2", "ports_live=30").replace("disk_bytes=0", "disk_bytes=99999999999999999999"))
    put("qemu-conf", "bad-ports.conf", base.replace("ports_live=2", "ports_live=9"))


# ---- render: one document for `sandbench report`, beside a.json and b.json (fuzz_render.c)
def render_seeds(report, paired, cmp):
    put("render", "report.json", compact(report))
    put("render", "paired.json", compact(paired))
    put("render", "compare.json", compact(cmp))
    cell = {"scenario": "latency-spawn", "metric": "lifecycle_ms", "unit": "ms", "higher_is_better": False,
            "values": {"native": {"n": 3, "p50": 1.0, "p99": 1.1}, "crun": {"n": 3, "p50": 2.0, "p99": 2.5},
                       "gone": {"n": 3, "p50": 3.0, "p99": 3.5}}}
    m = {"schema": "sandbench.matrix/v1", "tool": report["tool"], "run": report["run"],
         "drivers": [{"name": "native", "version": "1.0"}, {"name": "crun", "version": "1.0"},
                     {"name": "gone", "version": "2"}],
         "reports": [{"scenario": "latency-spawn", "driver": "native", "status": "ok", "path": "a.json"},
                     {"scenario": "latency-spawn", "driver": "crun", "status": "ok", "path": "b.json"},
                     {"scenario": "latency-spawn", "driver": "gone", "status": "ok", "path": "gone.json"},
                     {"scenario": "net", "driver": "gone", "status": "skip", "path": "net.json",
                      "reason": "unsupported by gone: net"}],
         "cells": [cell, dict(cell, metric="shell_pool_run_completion_c4_ms")]}
    put("render", "matrix.json", compact(m))
    h = {"schema": "sandbench.history/v1", "store": "x.db", "query": {},
         "series": [{"scenario": "latency-spawn", "driver": "native", "metric": "lifecycle_ms", "unit": "ms",
                     "higher_is_better": False, "statistic": "p50", "params": {},
                     "points": [{"run_id": "r%d" % i, "started_at": "2026-01-%02dT00:00:00Z" % (i + 1),
                                 "value": 1.0 + (i >= 5)} for i in range(10)],
                     "change_points": [{"index": 5, "run_id": "r5", "before": 1.0, "after": 2.0, "change": 1.0,
                                        "p": 0.01}]}]}
    put("render", "history.json", compact(h))
    put("render", "unknown-schema.json", '{"schema":"sandbench.budgets/v1"}')


later_targets()
if len(sys.argv) < 5:
    sys.exit(0)
report, report2, cmp, paired = (json.load(open(p)) for p in sys.argv[1:5])
# Trim long sample lists: small seeds mutate faster.
for r in (report, report2):
    r["samples"] = r["samples"][:4]

# ---- report
put("report", "ok-spawn.json", compact(report))
put("report", "ok-exec.json", compact(report2))
skip = dict(report, status="skip", reason="unsupported by process: net", samples=[], aggregates=[])
put("report", "skip.json", compact(skip))
err = dict(report2, status="error", reason="iteration 2: timed out")
err["samples"] = report2["samples"][:2] + [{"iteration": 2, "warmup": False, "metrics": {}, "error": "timed out"}]
put("report", "error.json", compact(err))
put("report", "wrong-schema.json", compact(dict(report, schema="sandbench.report/v2")))
put("report", "not-object.json", "[1,2,3]")
put("report", "truncated.json", compact(report)[:300])
odd = json.loads(compact(report))
odd["aggregates"][0]["p50"] = -1e308
odd["aggregates"][0]["unit"] = ""
odd["samples"][0]["metrics"] = {"lifecycle_ms": "fast", "x": None}
put("report", "odd-values.json", compact(odd))

# ---- compare-input: reports, matrix summaries, other sandbench documents
put("compare-input", "report.json", compact(report))
m = {"schema": "sandbench.matrix/v1", "reports": [{"scenario": "latency-spawn", "driver": "process",
                                                   "status": "ok", "path": "a.json"}, None, "b.json"]}
put("compare-input", "matrix.json", compact(m))
put("compare-input", "matrix-missing.json", compact(dict(m, reports=["nope.json"])))
put("compare-input", "matrix-self.json", compact(dict(m, reports=["in.json"])))
put("compare-input", "matrix-empty.json", compact(dict(m, reports=[])))
put("compare-input", "compare.json", compact(cmp))
put("compare-input", "paired.json", compact(paired))
put("compare-input", "budgets.json", open(os.path.join(here, "..", "docs", "examples", "budgets-ci.json")).read())
put("compare-input", "foreign.json", '{"schema":"other/v1"}')

# ---- budgets
put("budgets", "ci.json", open(os.path.join(here, "..", "docs", "examples", "budgets-ci.json")).read())
put("budgets", "all-keys.json", compact({
    "schema": "sandbench.budgets/v1",
    "defaults": {"statistic": "p95", "threshold": 0, "alpha": 0.01, "drift": 0.2},
    "budgets": [{"metric": "[a-z]*_ms", "scenario": "latency-?pawn", "driver": "n*",
                 "statistic": "mean", "threshold": 9.5, "alpha": 0.49, "drift": 0.99,
                 "min_change": 0.5, "normalize": False, "direction": "higher_is_better",
                 "ignore": False}]}))
put("budgets", "bad-key.json", '{"schema":"sandbench.budgets/v1","budgets":[{"metric":"x","thresold":1}]}')
put("budgets", "empty.json", "{}")

# ---- cmd-config
put("cmd-config", "bwrap.conf", open(os.path.join(here, "..", "docs", "examples", "cmd-bwrap.conf")).read())
put("cmd-config", "quotes.conf",
    "exec = sh -c 'echo {name}' \"a \\\" b\" c\\ d {argv} x{pid}y {child_pid} {unknown} ${HOME}\n"
    "create = mkdir -p {state_dir}/x\ndestroy = rm -rf {state_dir}/x\ncaps = exec,agent\n"
    "agent = {agent_host} {agent} {rootfs} {owner} {argv}\n")
put("cmd-config", "errors.conf", "exec = echo 'unterminated {argv}\nready = x\nfoo = bar\ncaps = exec, bogus\n")
put("cmd-config", "continued.conf", "# comment\nexec = a \\\n   b \\\n\t{argv}\n\n   \nstart = \\\n")

# ---- agent protocol: records of the frame mode (agent_frames.h) and raw streams


def fnv(b):
    h = 2166136261
    for x in b:
        h = ((h ^ x) * 16777619) & 0xffffffff
    return h


def frame(t, i, payload, version=1):
    h = b"SBAG" + struct.pack("<BBHII", version, t, 0, i, len(payload))
    return h + struct.pack("<I", fnv(h)) + payload


def rec(t, i, payload, tweak=0):
    return struct.pack("<BBBH", t, tweak, i, len(payload)) + payload


def blob(b):
    return struct.pack("<I", len(b)) + b


def run_argv(args, stdin=b"", timeout=0):
    return struct.pack("<III", 0, timeout, len(args)) + b"".join(blob(a) for a in args) + blob(stdin)


def result(status, code, out=b"", err=b"", flags=0):
    return struct.pack("<IiIQQQQ", status, code, flags, 1, 2, len(out), len(err)) + blob(out) + blob(err)


def error(code, msg):
    return struct.pack("<I", code) + blob(msg)


req = [
    ("argv", rec(1, 1, run_argv([b"/bin/echo", b"hi", b""], b"in", 100))),
    ("sh", rec(2, 2, run_argv([b"printf x"])) + rec(3, 3, b"ping") + rec(4, 4, b"")),
    ("session", rec(5, 5, run_argv([b"cd /tmp; echo $PWD"], timeout=5))),
    ("bad-count", rec(1, 6, struct.pack("<III", 0, 0, 0xffffffff))),
    ("nul-arg", rec(1, 7, run_argv([b"a\0b"]))),
    ("tweaks", rec(1, 8, run_argv([b"x"]), 1) + rec(2, 9, run_argv([b"y"]), 2) +
     rec(1, 10, run_argv([b"z"]), 4) + rec(3, 11, b"p", 8)),
]
for name, r in req:
    for chunk in (0, 1, 7):
        put("agent-request", f"{name}-c{chunk}", bytes([chunk, 0]) + r)
put("agent-request", "raw-frames", bytes([0, 1]) + frame(1, 1, run_argv([b"true"])) + b"garbage" +
    frame(3, 2, b"pp") + frame(9, 3, b"", version=2))

resp = [
    ("result", rec(0x81, 7, result(0, 0, b"TOKEN\n"))),
    ("several", rec(0x81, 1, result(1, 9, b"", b"killed")) + rec(0x83, 2, struct.pack("<Q", 5) + b"echo") +
     rec(0x84, 7, b"") + rec(0xff, 0, error(1, b"bad header"))),
    ("error", rec(0xff, 7, error(7, b"too many requests in flight"))),
    ("truncated", rec(0x81, 7, result(0, 0, b"abc")[:-2])),
    ("bad-status", rec(0x81, 7, result(3, 0))),
    ("unknown-type", rec(0x42, 7, b"zz")),
    ("tweaks", rec(0x81, 7, result(0, 0), 1) + rec(0x81, 7, result(0, 0), 2) + rec(0x81, 7, result(0, 0), 8)),
]
for name, r in resp:
    put("agent-response", name, bytes([7, 0]) + r)
put("agent-response", "raw", bytes([7, 1]) + frame(0x81, 7, result(2, 2)) + b"SBA" + frame(0x83, 1, struct.pack("<Q", 1)))

# ---- params: one --param per line
put("params", "typical", "size=64M\nlevels=1,2,4,8\nwork=0.5\nslots=4\n")
put("params", "sizes", "size=1G\nsize=16KiB\nsize=4096\nsize=18446744073709551615G\nsize=-1\nsize=12X\n")
put("params", "lists", "levels=1,,2\nlevels=0\nlevels=1000001\nlevels=" + ",".join(["1"] * 70) + "\n")
put("params", "unknown", "sise=1\n=x\nnoequals\n" + "k" * 200 + "=v\nbin=/usr/bin/crun\nmode=oneshot\n")
put("params", "numbers", "work=nan\nwork=1e999\nwork=-0\nslots=-5\nslots=99999999999999999999\n")
