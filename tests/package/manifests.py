#!/usr/bin/python3
"""The fleet manifests (packaging/k8s/*.yaml) parse and hold together: every document has its
apiVersion/kind/metadata; the Job and the DaemonSet run the bench container privileged, with the
store URL from a key the Secret has, volumes that exist, only environment variables the entrypoint
reads, and a DaemonSet selector that matches its pods. Exit 77 without python3-yaml."""
import pathlib
import re
import subprocess
import sys

try:
    import yaml
except ImportError:
    print("SKIP: python3-yaml missing (bash scripts/deps.sh package)")
    sys.exit(77)

SRC = pathlib.Path(sys.argv[1])
K8S = SRC / "packaging" / "k8s"
ENTRYPOINT = (SRC / "packaging" / "entrypoint.sh").read_text()
API = {"Namespace": "v1", "Secret": "v1", "Job": "batch/v1", "DaemonSet": "apps/v1"}
fails = []


def check(cond, what):
    if cond:
        print("ok:", what)
    else:
        print("FAIL:", what)
        fails.append(what)


docs = []
for f in sorted(K8S.glob("*.yaml")):
    try:
        loaded = [d for d in yaml.safe_load_all(f.read_text()) if d is not None]
    except yaml.YAMLError as e:
        check(False, f"{f.name} parses: {e}")
        continue
    check(bool(loaded), f"{f.name} parses into {len(loaded)} document(s)")
    docs += [(f.name, d) for d in loaded]

by_kind = {}
for name, d in docs:
    kind = d.get("kind")
    check(kind in API, f"{name}: kind {kind} is one of {sorted(API)}")
    check(d.get("apiVersion") == API.get(kind), f"{name}: apiVersion {d.get('apiVersion')} for {kind}")
    check(bool(d.get("metadata", {}).get("name")), f"{name}: metadata.name set")
    by_kind.setdefault(kind, []).append((name, d))

for kind in ("Job", "DaemonSet", "Secret", "Namespace"):
    check(kind in by_kind, f"a {kind} is there")
namespaces = {d["metadata"]["name"] for _, d in by_kind.get("Namespace", [])}
for name, d in docs:
    if d.get("kind") != "Namespace":
        check(d["metadata"].get("namespace") in namespaces,
              f"{name}: {d['kind']} lives in a namespace defined here ({sorted(namespaces)})")
secrets = {d["metadata"]["name"]: set(d.get("stringData", {})) | set(d.get("data", {}))
           for _, d in by_kind.get("Secret", [])}
# Variables the manifests set for their own use rather than the entrypoint's.
OWN_VARS = {"NODE_NAME", "SANDBENCH_INTERVAL"}

for kind in ("Job", "DaemonSet"):
    for name, d in by_kind.get(kind, []):
        tmpl = d["spec"]["template"]
        pod = tmpl["spec"]
        labels = tmpl.get("metadata", {}).get("labels", {})
        containers = pod.get("containers", [])
        check(len(containers) >= 1, f"{name}: has a container")
        if kind == "Job":
            check(pod.get("restartPolicy") in ("Never", "OnFailure"),
                  f"{name}: Job restartPolicy {pod.get('restartPolicy')} is Never or OnFailure")
            for k in ("completions", "parallelism"):
                check(isinstance(d["spec"].get(k, 1), int), f"{name}: {k} is a number")
        else:
            sel = d["spec"].get("selector", {}).get("matchLabels", {})
            check(sel and all(labels.get(k) == v for k, v in sel.items()),
                  f"{name}: selector {sel} matches the pod labels")
            check(pod.get("restartPolicy", "Always") == "Always", f"{name}: DaemonSet pods restart Always")
        check(bool(pod.get("nodeSelector")), f"{name}: runs only on selected bench nodes")
        volumes = {v["name"] for v in pod.get("volumes", [])}
        for c in containers:
            check(bool(c.get("name")) and bool(c.get("image")), f"{name}: container has name and image")
            check(c.get("securityContext", {}).get("privileged") is True,
                  f"{name}: container is privileged (sandboxes need namespaces and cgroups)")
            env = {e["name"]: e for e in c.get("env", [])}
            store = env.get("SANDBENCH_STORE", {}).get("valueFrom", {}).get("secretKeyRef", {})
            check(store.get("name") in secrets and store.get("key") in secrets.get(store.get("name"), ()),
                  f"{name}: SANDBENCH_STORE comes from Secret {store.get('name')} key {store.get('key')}")
            for var in env:
                if var not in OWN_VARS:
                    check(re.search(r"\b%s\b" % re.escape(var), ENTRYPOINT) is not None,
                          f"{name}: env {var} is read by packaging/entrypoint.sh")
            if "SANDBENCH_PROFILE" in env:
                check(env["SANDBENCH_PROFILE"].get("value") in ("quick", "standard", "full"),
                      f"{name}: SANDBENCH_PROFILE is a profile")
            for m in c.get("volumeMounts", []):
                check(m["name"] in volumes, f"{name}: volumeMount {m['name']} has a volume")
            mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
            check("/output" in mounts, f"{name}: /output is mounted (reports survive the pod)")
            res = c.get("resources", {})
            check(res.get("requests") == res.get("limits") and res.get("limits"),
                  f"{name}: requests equal limits (Guaranteed QoS, whole cores)")
            # A shell loop in the manifest must at least be valid bash.
            if c.get("command", [])[:2] == ["/bin/bash", "-c"]:
                script = c["args"][0]
                r = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
                check(r.returncode == 0, f"{name}: its bash loop parses {r.stderr.strip()}")
                check("sandbench-entrypoint" in script, f"{name}: the loop runs the entrypoint")

if fails:
    print(f"{len(fails)} check(s) failed")
    sys.exit(1)
