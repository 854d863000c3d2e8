#!/usr/bin/python3
"""The benchmark workflow (.github/workflows/bench.yml) parses and does what the runbook says:
manual, weekly and push-to-main triggers (push paths that match files of this tree), concurrency
that cancels in-progress runs of the same ref, and the steps build -> run -> validate -> upload
(90 days) -> compare with bench/baselines -> step summary. Every file of this tree that a step
names exists, every `run:` script parses as bash, and the validation step's command really
validates reports. Exit 77 without python3-yaml."""
import glob
import pathlib
import re
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("SKIP: python3-yaml missing (bash scripts/deps.sh package)")
    sys.exit(77)

SRC = pathlib.Path(sys.argv[1]).resolve()
WF = SRC / ".github" / "workflows" / "bench.yml"
fails = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        fails.append(what)


wf = yaml.safe_load(WF.read_text())
# YAML 1.1 reads a bare `on` key as the boolean true.
on = wf.get("on", wf.get(True))
check(isinstance(on, dict), "the workflow has triggers")
on = on or {}
check("workflow_dispatch" in on, "manual runs (workflow_dispatch)")
crons = [s.get("cron", "") for s in (on.get("schedule") or [])]
check(len(crons) == 1 and len(crons[0].split()) == 5 and crons[0].split()[4] not in ("*", ""),
      f"one weekly schedule (cron {crons})")
push = on.get("push") or {}
check(push.get("branches") == ["main"], "push trigger on main only")
paths = push.get("paths") or []
check(len(paths) > 0, "push trigger limited to paths")
for p in paths:
    hits = [h for h in glob.glob(str(SRC / p), recursive=True) if pathlib.Path(h).is_file()]
    check(bool(hits), f"push path {p} matches files of this tree")
check(any(p.startswith("bench/") for p in paths), "pushes that change bench files trigger it")

conc = wf.get("concurrency") or {}
check("github.ref" in str(conc.get("group", "")), "concurrency group per ref")
check(conc.get("cancel-in-progress") is True, "a newer run cancels the in-progress one")

jobs = wf.get("jobs") or {}
check(len(jobs) >= 1, "at least one job")
steps = [s for j in jobs.values() for s in j.get("steps", [])]
runs = [s.get("run", "") for s in steps]
alltext = "\n".join(runs)


def step_index(pred):
    for i, s in enumerate(steps):
        if pred(s):
            return i
    return -1


order = {
    "build": step_index(lambda s: "docker build" in s.get("run", "") and "packaging/Dockerfile" in s.get("run", "")),
    "run": step_index(lambda s: "docker run" in s.get("run", "") and "SANDBENCH_PROFILE" in s.get("run", "")),
    "validate": step_index(lambda s: "validate_report.py" in s.get("run", "")),
    "upload": step_index(lambda s: str(s.get("uses", "")).startswith("actions/upload-artifact@")),
    "compare": step_index(lambda s: " compare " in s.get("run", "") and "bench/baselines/" in s.get("run", "")),
    "summary": step_index(lambda s: "GITHUB_STEP_SUMMARY" in s.get("run", "")),
}
for name, i in order.items():
    check(i >= 0, f"a {name} step")
idx = [order[k] for k in ("build", "run", "validate", "upload", "compare", "summary")]
check(idx == sorted(idx), f"steps in order build, run, validate, upload, compare, summary ({idx})")
up = steps[order["upload"]] if order["upload"] >= 0 else {}
check(up.get("with", {}).get("retention-days") == 90, "artifacts kept 90 days")
check(up.get("if") == "always()", "reports uploaded even when a later step fails")
summ = steps[order["summary"]] if order["summary"] >= 0 else {}
check(summ.get("if") == "always()", "the summary is written even after a failure")
check("results/summary.md" in alltext, "the summary includes the entrypoint's summary.md")
check("--privileged" in alltext, "the container runs privileged")

# Every file of this tree a script names exists (paths with ${{ }} or $VAR parts: their fixed prefix).
named = set()
for r in runs:
    for m in re.finditer(r"(?<![\w/.-])((?:packaging|tests|docs|scripts|bench|src|\.github)/[\w./+-]*)", r):
        named.add(m.group(1))
for n in sorted(named):
    check((SRC / n).exists(), f"{n} exists in the tree")
for n in ("packaging/Dockerfile", "packaging/host-class.sh", "tests/tools/validate_report.py",
          "docs/report.schema.json", "packaging/entrypoint.sh"):
    check((SRC / n).exists(), f"{n} exists")
check("bench/baselines/" in alltext, "compares against bench/baselines/")

# Every run: script parses as bash (expressions replaced by a word).
for i, r in enumerate(runs):
    if not r:
        continue
    script = re.sub(r"\$\{\{[^}]*\}\}", "X", r)
    p = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    check(p.returncode == 0, f"step {i} ({steps[i].get('name')}) is valid bash {p.stderr.strip()}")

# The validation command, run here on a crafted invalid report, must fail (it really validates).
val = steps[order["validate"]]["run"] if order["validate"] >= 0 else ""
line = next((l for l in val.splitlines() if "validate_report.py" in l), "")
with tempfile.TemporaryDirectory() as tmp:
    rep = pathlib.Path(tmp, "results", "reports")
    rep.mkdir(parents=True)
    (rep / "x--native--0.json").write_text('{"schema": "sandbench.report/v1"}')
    cmd = line.strip().replace("tests/", str(SRC / "tests") + "/").replace("docs/", str(SRC / "docs") + "/")
    p = subprocess.run(["bash", "-c", cmd], cwd=tmp, text=True, capture_output=True)
    check(p.returncode != 0 and "x--native--0.json" in p.stderr,
          f"the validation step rejects an invalid report ({p.stderr.strip()[:80]})")

if fails:
    print(f"{len(fails)} check(s) failed")
    sys.exit(1)
