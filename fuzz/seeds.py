#!/usr/bin/python3
"""Writes the seed corpora under fuzz/corpus/ (run once; the output is committed). Usage:
fuzz/seeds.py REPORT.json REPORT2.json COMPARE.json PAIRED.json
with documents written by sandbench itself (see docs/fuzzing.md); the rest is built here."""
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
